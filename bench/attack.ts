// Issue 12, "Shown": each attack of the campaign replayed against a server in its own process (Lua application
// with an onHandshake, the worst case for path attacks; logs at info level, counted), while a real client calls
// `echo` every 250 ms on one connection and opens a fresh connection every second. Per attack: the client's
// call and connect latency percentiles and failures, server RSS before and at the end, log lines written
// (and per 10 s), and what the server counted. Prints one JSON object.
// Run: node --import tsx bench/attack.ts [--seconds=5] [--only=deep-path,keying-flood]
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetConnection } from '../src/client/index.ts';
import { ByteWriter, utf8Encode } from '../src/bytes.ts';
import { createInitiatorIdentity, initiateKeying } from '../src/protocols/rtmfp/crypto/keying.ts';
import { readSessionId, startupCipher } from '../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { CHUNK, decodeChunks, writeChunk, type Chunk, type RHelloChunk } from '../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, readPacketHeader, writePacketHeader } from '../src/protocols/rtmfp/wire/packet.ts';
import { iHello } from '../test/helpers/flood.ts';
import { clientInternals } from '../test/helpers/watched-server.ts';
import { startServerProcess, type ServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { MB, round } from './lib/measure.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SECONDS = Number(arg('seconds') ?? 5);
const ONLY = arg('only')?.split(',');

const yieldNow = () => new Promise((r) => setTimeout(r, 1));

/** Attackers send from 127.0.0.2, the real client from 127.0.0.1: per-address bounds hit the attacker only, as
 *  they would on a network (a client sharing the attacker's address is refused with it, by design). */
const ATTACKER = '127.0.0.2';

async function udp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, ATTACKER, resolve));
  socket.on('error', () => {});
  return socket;
}

function startup(chunk: Chunk): Uint8Array {
  const w = new ByteWriter(512);
  writePacketHeader(w, MODE.STARTUP, 0);
  writeChunk(w, chunk);
  return startupCipher.seal(0, w.bytes());
}

function startupChunk(message: Buffer): Chunk | undefined {
  const datagram = new Uint8Array(message.buffer, message.byteOffset, message.length);
  if (readSessionId(datagram) !== 0) return undefined;
  const clear = startupCipher.open(datagram);
  if (!clear) return undefined;
  try {
    return decodeChunks(clear, readPacketHeader(clear).chunksOffset)[0];
  } catch {
    return undefined;
  }
}

type Attack = (server: ServerProcess, until: number) => Promise<number>;

/** Sends `make()` from `sockets` sockets in paced batches until `until`; the number sent. */
async function blast(port: number, until: number, make: () => Uint8Array, sockets = 2, batch = 32): Promise<number> {
  const all = await Promise.all(Array.from({ length: sockets }, udp));
  let sent = 0;
  try {
    while (Date.now() < until) {
      for (let i = 0; i < batch; i++) all[sent++ % all.length]!.send(make(), port, '127.0.0.1');
      await yieldNow();
    }
  } finally {
    for (const s of all) s.close();
  }
  return sent;
}

const identity = createInitiatorIdentity('flash');

/** IHellos with fresh tags; every RHello answered with an IIKeying (`skic` from `skicFor`) and nothing after. */
async function keyings(port: number, until: number, skicFor: (rhello: RHelloChunk) => Uint8Array | null, replay = 1): Promise<number> {
  const socket = await udp();
  let sent = 0;
  socket.on('message', (message) => {
    const chunk = startupChunk(message);
    if (chunk?.type !== CHUNK.RHELLO) return;
    const rhello = chunk as RHelloChunk;
    const skic = skicFor(rhello);
    if (!skic) return;
    const datagram = startup({
      type: CHUNK.IIKEYING,
      initiatorSessionId: (randomBytes(4).readUInt32BE(0) | 1) >>> 0,
      cookie: rhello.cookie,
      certificate: identity.certificate,
      skic,
      signedParameters: new Uint8Array(0),
      signature: Uint8Array.of(0x58),
    });
    for (let i = 0; i < replay; i++) socket.send(datagram, port, '127.0.0.1');
    sent += replay;
  });
  const url = `rtmfp://127.0.0.1:${port}/attack`;
  try {
    while (Date.now() < until) {
      for (let i = 0; i < 16; i++) socket.send(iHello(url), port, '127.0.0.1');
      sent += 16;
      await yieldNow();
    }
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    socket.close();
  }
  return sent;
}

const DEEP = Array.from({ length: 575 }, () => 'a').join('/');
const LONG = Array.from({ length: 8192 }, () => 'b').join('/');
const SIGNATURE = [{ type: 0, value: utf8Encode('TC\x04\x00\x01') }];

const ATTACKS: Record<string, Attack> = {
  /** 575-segment (1.2 KB) and 16 KB paths in IHellos: froze a server for over 12 minutes before the fix */
  'deep-path': async (server, until) => {
    // built once: the attacker's own CPU must not slow the probe that shares its process
    const packets = [iHello(`rtmfp://127.0.0.1:${server.port}/${DEEP}`), iHello(`rtmfp://127.0.0.1:${server.port}/${LONG}`)];
    let n = 0;
    return blast(server.port, until, () => packets[n++ % 2]!);
  },
  /** random datagrams, startup and session ids alike */
  garbage: async (server, until) => blast(server.port, until, () => randomFillSync(new Uint8Array(20 + Math.floor(Math.random() * 1100)))),
  /** IIKeyings from one address with one reused key pair, never followed: filled all 10,000 slots before */
  'keying-flood': async (server, until) =>
    keyings(server.port, until, (rhello) => initiateKeying(identity, rhello.certificate, 'flash')?.skic ?? null),
  /** a key exchange whose group option is empty: a stack trace per packet before */
  'empty-group-keying': async (server, until) => keyings(server.port, until, () => Uint8Array.of(0x01, 0x1d, 0x02, 0x1e, 0x00)),
  /** every IIKeying sent five times (same cookie, same session id): one session per cookie */
  'cookie-replay': async (server, until) =>
    keyings(server.port, until, (rhello) => initiateKeying(identity, rhello.certificate, 'flash')?.skic ?? null, 5),
  /** connects whose tcUrl is 1 MiB long: one 1 MiB log line each before */
  'huge-connect-path': async (server, until) => {
    let sent = 0;
    const tcUrl = `rtmfp://127.0.0.1:${server.port}/${'p'.repeat(1 << 20)}`;
    while (Date.now() < until) {
      sent++;
      const nc = await NetConnection.connect(server.url('attack'), { properties: { tcUrl }, timeoutMs: 5_000 }).catch(() => null);
      nc?.destroy();
    }
    return sent;
  },
  /** a connected client filling 256 flows with out-of-order fragments: ~2 GB could be held before */
  'buffer-hog': async (server, until) => {
    const nc = await NetConnection.connect(server.url('attack'), { timeoutMs: 10_000 });
    const { socket, cipher, serverSessionId } = clientInternals(nc);
    const data = new Uint8Array(1_100);
    let sent = 0;
    let sequence = 2;
    try {
      while (Date.now() < until) {
        for (let i = 0; i < 64; i++) {
          const flowId = 2 + (sent % 256);
          const w = new ByteWriter(1_200);
          writePacketHeader(w, MODE.INITIATOR, 0);
          writeChunk(w, { type: CHUNK.USER_DATA, flags: 0, flowId, sequence, fsnOffset: sequence, options: SIGNATURE, data, next: false });
          socket.send(cipher.seal(serverSessionId, w.bytes()), server.port, '127.0.0.1');
          sent++;
          if (sent % 256 === 0) sequence++;
        }
        await yieldNow();
      }
    } finally {
      nc.destroy();
    }
    return sent;
  },
};

function percentiles(values: number[]): Record<string, number> {
  if (values.length === 0) return { n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!, 1);
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted.at(-1)!, 1) };
}

/** The real client: `echo` every 250 ms on one connection, a fresh connection (connect + echo) every second. */
async function probe(server: ServerProcess, until: number) {
  const calls: number[] = [];
  const connects: number[] = [];
  let callFailures = 0;
  let connectFailures = 0;
  const nc = await NetConnection.connect(server.url('probe'), { timeoutMs: 10_000 });
  const calling = (async () => {
    for (let i = 0; Date.now() < until; i++) {
      const start = performance.now();
      try {
        await Promise.race([nc.call('echo', i), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5_000))]);
        calls.push(performance.now() - start);
      } catch {
        callFailures++;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const connecting = (async () => {
    while (Date.now() < until) {
      const start = performance.now();
      const fresh = await NetConnection.connect(server.url('probe'), { timeoutMs: 5_000 }).catch(() => null);
      if (
        fresh &&
        (await fresh.call('echo', 1).then(
          () => true,
          () => false,
        ))
      )
        connects.push(performance.now() - start);
      else connectFailures++;
      fresh?.destroy();
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  await Promise.all([calling, connecting]);
  nc.destroy();
  return { callMs: percentiles(calls), callFailures, connectMs: percentiles(connects), connectFailures };
}

function delta(before: ServerSnapshot, after: ServerSnapshot, key: string): number {
  return (after.stats[key] ?? 0) - (before.stats[key] ?? 0);
}

const dir = mkdtempSync(join(tmpdir(), 'nimbus-attack-'));
// www/probe/ and www/attack/ without main.lua: applications served by the root one (a missing folder is InvalidApp)
mkdirSync(join(dir, 'www', 'probe'), { recursive: true });
mkdirSync(join(dir, 'www', 'attack'), { recursive: true });
writeFileSync(
  join(dir, 'www', 'main.lua'),
  [
    '-- defines onHandshake: every IHello resolves its path (the worst case for path attacks)',
    'function onHandshake(address, path, properties, attempts) end',
    'function onConnection(client, ...)',
    '  function client:echo(...) return ... end',
    'end',
    '',
  ].join('\n'),
);
const results: Array<Record<string, unknown>> = [];
try {
  for (const [name, attack] of Object.entries(ATTACKS)) {
    if (ONLY && !ONLY.includes(name)) continue;
    const server = await startServerProcess([`--application.dir=${dir}`, '--log-level=info']);
    try {
      const warm = await NetConnection.connect(server.url('probe'), { timeoutMs: 10_000 });
      warm.destroy();
      const before = await server.gcSnapshot();
      const until = Date.now() + SECONDS * 1000;
      const [sent, client] = await Promise.all([attack(server, until), probe(server, until)]);
      const after = await server.snapshot();
      const logLines = after.logLines - before.logLines;
      results.push({
        attack: name,
        sent,
        client,
        rssBeforeMB: round(before.memory.rss / MB, 1),
        rssAfterMB: round(after.memory.rss / MB, 1),
        logLines,
        logLinesPer10s: round((logLines * 10) / SECONDS, 1),
        logKB: round((after.logBytes - before.logBytes) / 1024, 1),
        sessionsAtEnd: after.sessions,
        malformed: delta(before, after, 'malformed'),
        refused: delta(before, after, 'refused'),
        throttled: delta(before, after, 'throttled'),
        sessionsOpened: delta(before, after, 'sessionsOpened'),
      });
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'attack', seconds: SECONDS, results }));
