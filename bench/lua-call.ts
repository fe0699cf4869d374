// RPC round trips through a Lua method: host.onCall → client:method(...) → _result values, with the
// fixture applications (test/fixtures/www). No network: this is the cost the Lua host adds per call.
// Run: node --import tsx bench/lua-call.ts   → one JSON line per measurement.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuaApplicationHost } from '../src/app/host.ts';
import type { ClientPort, ServerPort, WriterPort } from '../src/core/ports.ts';
import type { AppLogger } from '../src/app/runtime.ts';
import type { AMFValue } from '../src/flash/amf/types.ts';

const SECONDS = 1;
const WARMUP = 2000;

const silent = () => {};
const logger = {
  fatal: silent,
  critic: silent,
  error: silent,
  warn: silent,
  note: silent,
  info: silent,
  debug: silent,
  trace: silent,
} as unknown as AppLogger;

const writer: WriterPort = {
  closed: false,
  reliable: true,
  writeInvocation: silent,
  writeResult: silent,
  writeStatus: silent,
  writeData: silent,
  writeRaw: silent,
  flush: silent,
  newWriter: () => writer,
  close: silent,
};
const client: ClientPort = {
  protocol: 'RTMFP',
  rawId: new Uint8Array(32).fill(7),
  address: '127.0.0.1:5000',
  path: '',
  query: '',
  properties: { app: '', flashVer: 'WIN 11,7,700,202' },
  ping: 0,
  lastReceptionTime: Date.now(),
  peerAddresses: [],
  writer,
};
const server: ServerPort = {
  clients: [],
  clientById: () => undefined,
  configs: {},
  publicAddress: '127.0.0.1:1935',
  startTime: Date.now(),
  blacklist: { add: silent, remove: silent },
};

const dir = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
const www = join(dir, 'www');
cpSync(fileURLToPath(new URL('../test/fixtures/www', import.meta.url)), www, { recursive: true });
const host = new LuaApplicationHost({ wwwDir: www, logger, server });
host.start();
if (!host.onConnection(client, []).accepted) throw new Error('fixture rejected the bench client');

function measure(name: string, method: string, args: AMFValue[]): void {
  for (let i = 0; i < WARMUP; i++) host.onCall(client, method, 1, args);
  let ops = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const deadline = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 100; i++) {
      const r = host.onCall(client, method, i + 1, args);
      if (!r.ok) throw new Error(r.description);
    }
    ops += 100;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const opsPerSec = ops / seconds;
  console.log(
    JSON.stringify({
      bench: 'lua-call',
      case: name,
      callsPerSec: Math.round(opsPerSec),
      usPerCall: +(1e6 / opsPerSec).toFixed(2),
      cpuUsPerCall: +((cpu.user + cpu.system) / ops).toFixed(2),
    }),
  );
}

try {
  measure('add(2,3)', 'add', [2, 3]);
  measure('echo(string)', 'echo', ['hello world']);
  measure('echo(object)', 'echo', [{ name: 'tom', age: 7, tags: ['a', 'b'] }]);
  measure('onMessage(string)', '', ['x']);
} finally {
  host.stop();
  rmSync(dir, { recursive: true, force: true });
}
