// Handshakes per second: one client opening sessions one after another (IHello → RIKeying, then the
// NetConnection connect round trip) against a server in its own process, Flash and RFC 7425 styles.
// Run: node --import tsx bench/handshake.ts → one JSON object.
import { NetConnection } from '../src/client/index.ts';
import { startServerProcess } from './lib/server-process.ts';
import { cpuMs, round, seconds } from './lib/measure.ts';

const SECONDS_PER_STYLE = 8;
const WARMUP = 5;

const server = await startServerProcess();
const result: Record<string, unknown> = { bench: 'handshake' };
try {
  for (const style of ['flash', 'rfc7425'] as const) {
    for (let i = 0; i < WARMUP; i++) await (await NetConnection.connect(server.url(), { style })).close();
    const before = await server.snapshot();
    const clientCpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    let connectSeconds = 0;
    let count = 0;
    while (seconds(start) < SECONDS_PER_STYLE) {
      const t = process.hrtime.bigint();
      const nc = await NetConnection.connect(server.url(), { style });
      connectSeconds += seconds(t);
      count++;
      await nc.close();
    }
    const wall = seconds(start);
    const after = await server.snapshot();
    const client = process.cpuUsage(clientCpu);
    result[style] = {
      handshakes: count,
      perSecond: round(count / connectSeconds, 1),
      perSecondWithClose: round(count / wall, 1),
      msPerConnect: round((connectSeconds * 1000) / count),
      serverCpuMsPerHandshake: round(cpuMs(before, after) / count, 3),
      clientCpuMsPerHandshake: round((client.user + client.system) / 1000 / count, 3),
    };
  }
} finally {
  await server.stop();
}
console.log(JSON.stringify(result));
