// The bench server process (forked by server-process.ts): a Nimbus server built from the compiled package
// (dist/, what `npm start` runs), answering IPC requests for its CPU, memory and stats. Plain JavaScript so
// that no TypeScript runner sits in the measured process; NIMBUS_BENCH_FROM=src runs the sources under tsx.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const fromSource = process.env.NIMBUS_BENCH_FROM === 'src';
const base = fromSource ? `${repository}src/` : `${repository}dist/src/`;
const ext = fromSource ? 'ts' : 'js';
// as src/cli.ts does first: the young generation kept at its initial size (src/ops/young-generation.ts), and no
// TurboFan until the server listens (src/ops/startup-tiering.ts)
await import(`${base}ops/young-generation.${ext}`);
const { resumeOptimisation } = await import(`${base}ops/startup-tiering.${ext}`);
const { Nimbus } = await import(`${base}nimbus.${ext}`);
const { loadConfig } = await import(`${base}config.${ext}`);
const { createLogger } = await import(`${base}log.${ext}`);

const args = process.argv.slice(2);
// --log-level=<level> (ours, not the server's configuration): log at that level into a counter
const levelArg = args.find((a) => a.startsWith('--log-level='));
const level = levelArg ? levelArg.slice('--log-level='.length) : 'fatal';
const configArgs = args.filter((a) => a !== levelArg);
let logLines = 0;
let logBytes = 0;
const destination = new Writable({
  write(chunk, _encoding, done) {
    logBytes += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) logLines++;
    done();
  },
});
// the repository's www/ whatever the working directory (bench/run.ts runs each script from bench/)
const defaults = ['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0', `--application.dir=${repository}`];
const { config } = loadConfig([...defaults, ...configArgs], { cwd: process.cwd(), env: {} });
const nimbus = new Nimbus({ config, logger: createLogger({ level, pretty: 'false', destination }) });
const server = nimbus.rtmfp;
await nimbus.start();
resumeOptimisation();
/** media the listeners dropped (a player that could not keep up), over every publication */
const listenerDrops = () => {
  let droppedMessages = 0;
  let droppedForCongestion = 0;
  let skippedUntilKeyFrame = 0;
  for (const publication of nimbus.core.publications) {
    for (const listener of publication.listeners.values()) {
      droppedMessages += listener.droppedMessages;
      droppedForCongestion += listener.droppedForCongestion;
      skippedUntilKeyFrame += listener.skippedUntilKeyFrame;
    }
  }
  return { droppedMessages, droppedForCongestion, skippedUntilKeyFrame };
};
/** what the open sessions' congestion control went through (RFC 7016 §3.5.2): timeouts, losses, decreases */
const congestionEvents = () => {
  const totals = { timeouts: 0, spuriousTimeouts: 0, nakLosses: 0, decreases: 0, retransmissions: 0 };
  for (const session of server.sessions.values()) {
    const { timeouts, spuriousTimeouts, nakLosses, decreases } = session.congestion.stats;
    totals.timeouts += timeouts;
    totals.spuriousTimeouts += spuriousTimeouts;
    totals.nakLosses += nakLosses;
    totals.decreases += decreases;
    totals.retransmissions += session.stats.retransmissions;
  }
  return totals;
};
const snapshot = () => {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return {
    cpu: process.cpuUsage(),
    memory: { rss, heapUsed, heapTotal, external, arrayBuffers },
    sessions: server.sessions.size,
    pendingKeyings: server.handshake.pendingKeyings,
    stats: { ...server.stats, ...listenerDrops(), ...congestionEvents() },
    // server links (cluster mode, [servers]): what crossed them
    links: nimbus.servers.all.map((link) => ({ address: link.address, bytesOut: link.stats.bytesOut, bytesIn: link.stats.bytesIn })),
    logLines,
    logBytes,
  };
};
process.on('message', (request) => {
  if (request.cmd === 'gc') {
    globalThis.gc?.();
    globalThis.gc?.();
  }
  process.send({ id: request.id, snapshot: snapshot() });
});
process.once('SIGTERM', () => void nimbus.close().then(() => process.exit(0)));
process.send({ port: server.address.port, rtmpPort: nimbus.rtmp?.address.port ?? 0, startMs: performance.now() });
