// A test server whose error-level log lines are kept: the supervisor logs (and survives) any exception
// that is not a WireError, so an empty `errors` list is how robustness tests see that none happened.
import { Writable } from 'node:stream';
import type dgram from 'node:dgram';
import { Nimbus } from '../../src/nimbus.ts';
import type { RtmfpServer } from '../../src/protocols/rtmfp/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { PacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import type { NetConnection } from '../../src/client/net-connection.ts';

export interface WatchedServer {
  /** the RTMFP protocol server (stats, sessions, handshake) */
  server: RtmfpServer;
  nimbus: Nimbus;
  port: number;
  url: string;
  /** error-level (and worse) log records, parsed */
  errors: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const ERROR_LEVEL = 50;

export async function startWatchedServer(args: string[] = []): Promise<WatchedServer> {
  const { config } = loadConfig(['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0', ...args], {
    cwd: process.cwd(),
    env: {},
  });
  const errors: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(line: Buffer, _encoding, done) {
      for (const text of line.toString().split('\n')) {
        if (!text) continue;
        const record = JSON.parse(text) as Record<string, unknown>;
        if (typeof record.level === 'number' && record.level >= ERROR_LEVEL) errors.push(record);
      }
      done();
    },
  });
  const logger = createLogger({ level: 'error', pretty: 'false', destination });
  const nimbus = new Nimbus({ config, logger });
  await nimbus.start();
  const port = nimbus.rtmfp.address.port;
  return { server: nimbus.rtmfp, nimbus, port, url: `rtmfp://127.0.0.1:${port}/`, errors, close: () => nimbus.close() };
}

/** What a client holds privately and an on-path attacker with its keys would have: its socket and cipher. */
export function clientInternals(nc: NetConnection): { socket: dgram.Socket; cipher: PacketCipher; serverSessionId: number } {
  const session = nc.session;
  if (!session) throw new Error('not connected');
  return {
    socket: (nc as unknown as { socket: dgram.Socket }).socket,
    cipher: (session as unknown as { cipher: PacketCipher }).cipher,
    serverSessionId: session.farId,
  };
}
