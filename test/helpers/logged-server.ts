// A test server whose every log record (info and up by default) is kept, parsed: for tests that assert what is
// logged, and how little, under hostile input.
import { Writable } from 'node:stream';
import { Nimbus } from '../../src/nimbus.ts';
import type { RtmfpServer } from '../../src/protocols/rtmfp/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';

export interface LoggedServer {
  server: RtmfpServer;
  nimbus: Nimbus;
  port: number;
  url: string;
  records: Array<Record<string, unknown>>;
  /** records whose msg is `msg` (and, when given, whose cause is `cause`) */
  lines(msg: string, cause?: string): Array<Record<string, unknown>>;
  /** total bytes of log written */
  bytes(): number;
  close(): Promise<void>;
}

export async function startLoggedServer(args: string[] = [], level = 'info'): Promise<LoggedServer> {
  const { config } = loadConfig(['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0', ...args], {
    cwd: process.cwd(),
    env: {},
  });
  const records: Array<Record<string, unknown>> = [];
  let bytes = 0;
  const destination = new Writable({
    write(line: Buffer, _encoding, done) {
      bytes += line.length;
      for (const text of line.toString().split('\n')) if (text) records.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level, pretty: 'false', destination });
  const nimbus = new Nimbus({ config, logger });
  await nimbus.start();
  const port = nimbus.rtmfp.address.port;
  return {
    server: nimbus.rtmfp,
    nimbus,
    port,
    url: `rtmfp://127.0.0.1:${port}/`,
    records,
    lines: (msg, cause) => records.filter((r) => r.msg === msg && (cause === undefined || r.cause === cause)),
    bytes: () => bytes,
    close: () => nimbus.close(),
  };
}
