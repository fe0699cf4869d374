// IHello floods: startup packets each with a fresh tag, as a spoofing or scanning peer would send them.
// Used by test/server/flood.test.ts and bench/flood.ts.
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { ByteWriter, utf8Encode } from '../../src/bytes.ts';
import { startupCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { CHUNK, writeChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, writePacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { writeOption } from '../../src/protocols/rtmfp/wire/options.ts';

/** A sealed IHello for `url` with a random 16-byte tag. */
export function iHello(url: string): Uint8Array {
  const epd = new ByteWriter(url.length + 4);
  writeOption(epd, 0x0a, utf8Encode(url));
  const w = new ByteWriter(128);
  writePacketHeader(w, MODE.STARTUP, 0);
  writeChunk(w, { type: CHUNK.IHELLO, epd: [], epdRaw: epd.bytes(), tag: randomFillSync(new Uint8Array(16)) });
  return startupCipher.seal(0, w.view_());
}

export interface FloodResult {
  sent: number;
  /** RHellos that came back to the flooding sockets */
  answered: number;
}

/**
 * `count` IHellos spread over `sockets` sockets bound to `host` (127.0.0.1 by default), in batches with a yield
 * between them so that the server (often in the same process) gets to read them instead of the kernel dropping
 * them. The packets are sealed before the first is sent: the flooder's own CPU must not slow a client measured
 * in the same process.
 */
export async function floodIHellos(
  port: number,
  options: { count: number; sockets?: number; batch?: number; url?: string; host?: string },
): Promise<FloodResult> {
  const url = options.url ?? `rtmfp://127.0.0.1:${port}/flood`;
  const batch = options.batch ?? 64;
  const packets = Array.from({ length: options.count }, () => iHello(url));
  const sockets = await Promise.all(
    Array.from({ length: options.sockets ?? 4 }, async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, options.host ?? '127.0.0.1', resolve));
      return socket;
    }),
  );
  const result: FloodResult = { sent: 0, answered: 0 };
  for (const socket of sockets) socket.on('message', () => result.answered++);
  try {
    while (result.sent < options.count) {
      for (let i = 0; i < batch && result.sent < options.count; i++, result.sent++) {
        sockets[result.sent % sockets.length]!.send(packets[result.sent]!, port, '127.0.0.1');
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // let the last answers arrive
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    for (const socket of sockets) socket.close();
  }
  return result;
}
