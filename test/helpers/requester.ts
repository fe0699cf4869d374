// A bare UDP socket speaking startup packets: an independent requester that sees exactly what the server answers
// to an IHello (RHello, Redirect, or nothing).
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { startupCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { ByteWriter, equalBytes } from '../../src/bytes.ts';
import { CHUNK, decodeChunks, writeChunk, type Chunk, type RedirectChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, readPacketHeader, writePacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';

export class Requester {
  readonly socket = dgram.createSocket('udp4');
  readonly received: Chunk[] = [];

  static async open(): Promise<Requester> {
    const r = new Requester();
    await new Promise<void>((resolve) => r.socket.bind(0, '127.0.0.1', resolve));
    r.socket.on('message', (m) => {
      const clear = startupCipher.open(new Uint8Array(m.buffer, m.byteOffset, m.length));
      if (clear) r.received.push(...decodeChunks(clear, readPacketHeader(clear).chunksOffset));
    });
    return r;
  }

  get port(): number {
    return this.socket.address().port;
  }

  ihello(port: number, epdRaw: Uint8Array, tag: Uint8Array): void {
    const w = new ByteWriter();
    writePacketHeader(w, MODE.STARTUP, 0);
    writeChunk(w, { type: CHUNK.IHELLO, epd: [], epdRaw, tag });
    this.socket.send(startupCipher.seal(0, w.bytes()), port, '127.0.0.1');
  }

  /** The answer to `tag`, or undefined when nothing came within a few round trips on loopback. */
  async answer(tag: Uint8Array): Promise<Chunk | undefined> {
    for (let i = 0; i < 30; i++) {
      const found = this.received.find((c) => 'tag' in c && equalBytes((c as { tag: Uint8Array }).tag, tag));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  /** IHello with this EPD: the Redirect's addresses, `chunk N` for another answer, undefined for none. */
  async hello(port: number, epdRaw: Uint8Array): Promise<string[] | undefined> {
    const tag = randomBytes(16);
    this.ihello(port, epdRaw, tag);
    const found = await this.answer(tag);
    if (!found) return undefined;
    if (found.type !== CHUNK.REDIRECT) return [`chunk ${found.type}`];
    return (found as RedirectChunk).addresses.map((a) => `${a.host}:${a.port}`);
  }

  close(): void {
    this.socket.close();
  }
}
