// What /metrics and /api/v1/clients cost with many clients: 500 Flash sessions open on a server process with the
// inspector enabled (no page open), then each route fetched 20 times; median latency and answer size.
// Run: node --import tsx bench/scrape.ts.
import net from 'node:net';
import { NetConnection } from '../src/client/index.ts';
import { startServerProcess } from './lib/server-process.ts';
import { round } from './lib/measure.ts';

const SESSIONS = 500;
const PARALLEL = 25;
const FETCHES = 20;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function timed(url: string): Promise<{ medianMs: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < FETCHES; i++) {
    const start = performance.now();
    const response = await fetch(url);
    const body = await response.text();
    times.push(performance.now() - start);
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    bytes = body.length;
  }
  times.sort((a, b) => a - b);
  return { medianMs: round(times[Math.floor(times.length / 2)]!), bytes };
}

const port = await freePort();
const server = await startServerProcess(['--inspector.enabled=true', `--inspector.port=${port}`, '--inspector.host=127.0.0.1']);
const connections: NetConnection[] = [];
let output: Record<string, unknown>;
try {
  while (connections.length < SESSIONS) {
    const batch = Math.min(PARALLEL, SESSIONS - connections.length);
    connections.push(...(await Promise.all(Array.from({ length: batch }, () => NetConnection.connect(server.url(), { style: 'flash' })))));
  }
  const metrics = await timed(`http://127.0.0.1:${port}/metrics`);
  const clients = await timed(`http://127.0.0.1:${port}/api/v1/clients`);
  output = {
    bench: 'scrape',
    sessions: SESSIONS,
    metricsMedianMs: metrics.medianMs,
    metricsBytes: metrics.bytes,
    clientsMedianMs: clients.medianMs,
    clientsBytes: clients.bytes,
  };
} finally {
  for (const nc of connections) nc.destroy();
  await server.stop();
}
console.log(JSON.stringify(output));
