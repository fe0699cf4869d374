// NetConnection call round trips per second against a server in its own process: createStream (answered
// with _result, each followed by a deleteStream), a Lua method (www/main.lua client:echo) and an unknown method
// (answered with _error), one at a time and 16 in flight.
// Run: node --import tsx bench/call.ts → one JSON object.
import { NetConnection, CallError } from '../src/client/index.ts';
import { startServerProcess } from './lib/server-process.ts';
import { cpuMs, round, seconds } from './lib/measure.ts';

const SECONDS_PER_CASE = 4;
const WARMUP = 200;

const calls = {
  // deleteStream (no answer) right after keeps the connection under the server's per-connection stream cap
  createStream: (nc: NetConnection) => nc.createStream().then((id) => nc.send('deleteStream', id)),
  // a Lua method: www/main.lua's client:echo (the server process serves the repository's www/)
  luaEcho: (nc: NetConnection) =>
    nc.call('echo', 'ping', 1).then((values) => {
      if (values[0] !== 'ping') throw new Error('echo answered something else');
    }),
  unknownMethod: (nc: NetConnection) =>
    nc.call('noSuchMethod', 1).then(
      () => {
        throw new Error('noSuchMethod answered _result');
      },
      (error: unknown) => {
        if (!(error instanceof CallError)) throw error;
      },
    ),
};

const server = await startServerProcess();
const result: Record<string, unknown> = { bench: 'call' };
const nc = await NetConnection.connect(server.url(), { style: 'flash' });
try {
  for (const [name, call] of Object.entries(calls)) {
    for (let i = 0; i < WARMUP; i++) await call(nc);
    for (const inFlight of [1, 16]) {
      const before = await server.snapshot();
      const start = process.hrtime.bigint();
      let count = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (seconds(start) < SECONDS_PER_CASE) {
            await call(nc);
            count++;
          }
        }),
      );
      const wall = seconds(start);
      const after = await server.snapshot();
      result[`${name}.${inFlight === 1 ? 'sequential' : `inFlight${inFlight}`}`] = {
        calls: count,
        perSecond: round(count / wall, 1),
        msPerCall: round((wall * 1000 * inFlight) / count, 3),
        serverCpuUsPerCall: round((cpuMs(before, after) * 1000) / count, 1),
      };
    }
  }
} finally {
  nc.destroy();
  await server.stop();
}
console.log(JSON.stringify(result));
