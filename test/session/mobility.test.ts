// Address mobility (RFC 7016 §3.5.4.2): a valid packet from a new address moves the session only once a ping
// with an unguessable payload, sent there, comes back echoed from there. A replayed packet from a spoofed
// source address therefore cannot take the session away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { pino } from 'pino';
import { Session, type Endpoint, type SessionDelegate } from '../../src/protocols/rtmfp/session/session.ts';
import { createPacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { decodeChunks, CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, readPacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import type { Logger } from '../../src/log.ts';

const KEY_A = new Uint8Array(16).fill(1);
const KEY_B = new Uint8Array(16).fill(2);
const SERVER: Endpoint = { host: '198.51.100.1', port: 1935 };
const CLIENT: Endpoint = { host: '203.0.113.5', port: 50000 };
const MOVED: Endpoint = { host: '203.0.113.9', port: 40000 };
const SPOOFED: Endpoint = { host: '192.0.2.66', port: 6666 };

function setup() {
  const clock = new SimulatedClock();
  const logger = pino({ level: 'silent' }) as unknown as Logger;
  const sent: Array<{ from: 'client' | 'server'; datagram: Uint8Array; to: Endpoint }> = [];
  const moves: Endpoint[] = [];
  const delegate = (record: boolean): SessionDelegate => ({
    onFlow: () => ({ onMessage() {} }),
    onClosed() {},
    onAddressChanged: record ? (session) => void moves.push(session.address) : undefined,
  });
  const common = { clock, logger, keepAliveMs: 15_000 };
  const client = new Session({
    ...common,
    role: 'initiator',
    nearId: 7,
    farId: 9,
    address: SERVER,
    cipher: createPacketCipher(KEY_A, KEY_B),
    delegate: delegate(false),
    transport: { send: (datagram, to) => void sent.push({ from: 'client', datagram, to }) },
  });
  const server = new Session({
    ...common,
    role: 'responder',
    nearId: 9,
    farId: 7,
    address: CLIENT,
    cipher: createPacketCipher(KEY_B, KEY_A),
    delegate: delegate(true),
    transport: { send: (datagram, to) => void sent.push({ from: 'server', datagram, to }) },
  });
  const observer = createPacketCipher(KEY_A, KEY_B); // opens what the server sends
  const chunkTypes = (datagram: Uint8Array): number[] => {
    const clear = observer.open(datagram)!;
    return decodeChunks(clear, readPacketHeader(clear).chunksOffset).map((c) => c.type);
  };
  const mode = (datagram: Uint8Array): number => readPacketHeader(observer.open(datagram)!).mode;
  return { client, server, sent, moves, chunkTypes, mode };
}

test('a packet from a new address triggers a ping there; the session moves once it is echoed from there', () => {
  const { client, server, sent, moves, chunkTypes, mode } = setup();
  client.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(1));
  client.flush();
  const first = sent.splice(0).find((s) => s.from === 'client')!;
  assert.equal(server.receiveDatagram(first.datagram, CLIENT), true);
  assert.deepEqual(server.address, CLIENT);
  sent.length = 0;

  // the client's NAT rebinds: its next packet arrives from MOVED
  client.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(2));
  client.flush();
  const fromMoved = sent.splice(0).filter((s) => s.from === 'client');
  for (const s of fromMoved) server.receiveDatagram(s.datagram, MOVED);
  assert.deepEqual(server.address, CLIENT, 'not moved before the check');
  const probe = sent.find((s) => s.from === 'server' && chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.ok(probe, 'a ping went out');
  assert.deepEqual(probe.to, MOVED, 'to the new address');
  assert.equal(mode(probe.datagram), MODE.RESPONDER, "in the server's own packet mode");

  // the client answers the ping; its reply arrives from MOVED
  sent.length = 0;
  client.receiveDatagram(probe.datagram, SERVER);
  const reply = sent.filter((s) => s.from === 'client');
  assert.ok(reply.length > 0);
  for (const s of reply) server.receiveDatagram(s.datagram, MOVED);
  assert.deepEqual(server.address, MOVED);
  assert.deepEqual(moves, [MOVED]);
});

test('a replayed packet from a spoofed address does not move the session', () => {
  const { client, server, sent, moves } = setup();
  client.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(1));
  client.flush();
  const packet = sent.splice(0).find((s) => s.from === 'client')!;
  server.receiveDatagram(packet.datagram, CLIENT);
  // an attacker replays it from elsewhere: the probe goes to the attacker, who cannot answer it
  server.receiveDatagram(packet.datagram, SPOOFED);
  assert.deepEqual(server.address, CLIENT);
  assert.deepEqual(moves, []);
  // the real client keeps talking from its address: nothing changes
  client.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(3));
  client.flush();
  for (const s of sent.splice(0).filter((x) => x.from === 'client')) server.receiveDatagram(s.datagram, CLIENT);
  assert.deepEqual(server.address, CLIENT);
});

/** The client's packets, delivered to the server as if from `at`; returns what the server sent meanwhile. */
function deliver(
  ctx: ReturnType<typeof setup>,
  datagrams: Uint8Array[],
  at: Endpoint,
): Array<{ from: 'client' | 'server'; datagram: Uint8Array; to: Endpoint }> {
  const before = ctx.sent.length;
  for (const d of datagrams) ctx.server.receiveDatagram(d, at);
  return ctx.sent.slice(before).filter((s) => s.from === 'server');
}

/** The client writes something; its datagrams (taken off the wire). */
function clientSends(ctx: ReturnType<typeof setup>, byte: number): Uint8Array[] {
  ctx.client.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(byte));
  ctx.client.flush();
  return ctx.sent
    .splice(0)
    .filter((s) => s.from === 'client')
    .map((s) => s.datagram);
}

/** The client answers the server's probe; the datagrams of its reply. */
function clientEchoes(ctx: ReturnType<typeof setup>, probe: Uint8Array): Uint8Array[] {
  ctx.sent.length = 0;
  ctx.client.receiveDatagram(probe, SERVER);
  return ctx.sent
    .splice(0)
    .filter((s) => s.from === 'client')
    .map((s) => s.datagram);
}

test('a replayed ping reply from a spoofed address moves nothing, neither before nor after a real move', () => {
  const ctx = setup();
  deliver(ctx, clientSends(ctx, 1), CLIENT);
  // real move to MOVED: probe there, echoed from there
  const probes = deliver(ctx, clientSends(ctx, 2), MOVED).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.deepEqual(
    probes.map((p) => p.to),
    [MOVED],
  );
  const echo = clientEchoes(ctx, probes[0]!.datagram);
  // the echo replayed from a spoofed address first: the challenge was for MOVED, not for SPOOFED
  deliver(ctx, echo, SPOOFED);
  assert.deepEqual(ctx.server.address, CLIENT);
  deliver(ctx, echo, MOVED);
  assert.deepEqual(ctx.server.address, MOVED);
  // after the move, the same echo replayed from anywhere (MOVED's old challenge, CLIENT, SPOOFED) moves nothing
  for (const at of [SPOOFED, CLIENT]) deliver(ctx, echo, at);
  assert.deepEqual(ctx.server.address, MOVED);
  assert.deepEqual(ctx.moves, [MOVED]);
});

test('replays from a spoofed address while a real move is being checked cannot overwrite its challenge', () => {
  const ctx = setup();
  const first = clientSends(ctx, 1);
  deliver(ctx, first, CLIENT);
  const probes = deliver(ctx, clientSends(ctx, 2), MOVED).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.equal(probes.length, 1);
  // the attacker replays an old packet from SPOOFED: it gets its own challenge, the pending one stands
  const spoofProbes = deliver(ctx, first, SPOOFED).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.deepEqual(
    spoofProbes.map((p) => p.to),
    [SPOOFED],
  );
  deliver(ctx, clientEchoes(ctx, probes[0]!.datagram), MOVED);
  assert.deepEqual(ctx.server.address, MOVED, 'the real move still completes');
});

test('one probe per candidate address per 500 ms: a burst asks once, another candidate asks for itself', () => {
  const ctx = setup();
  deliver(ctx, clientSends(ctx, 1), CLIENT);
  const pings = (out: ReturnType<typeof deliver>) => out.filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING)).map((s) => s.to);
  const burst = [...clientSends(ctx, 2), ...clientSends(ctx, 3), ...clientSends(ctx, 4)];
  assert.ok(burst.length >= 3);
  assert.deepEqual(pings(deliver(ctx, burst, MOVED)), [MOVED], 'a burst from the new address: one probe');
  const samePortElsewhere: Endpoint = { host: MOVED.host, port: MOVED.port + 1 };
  assert.deepEqual(pings(deliver(ctx, clientSends(ctx, 5), samePortElsewhere)), [samePortElsewhere], 'another port is another candidate');
  const sameHostPort: Endpoint = { host: SPOOFED.host, port: MOVED.port };
  assert.deepEqual(pings(deliver(ctx, clientSends(ctx, 6), sameHostPort)), [sameHostPort], 'another host is another candidate');
  assert.deepEqual(pings(deliver(ctx, clientSends(ctx, 7), sameHostPort)), [], 'the same candidate again within 500 ms: no probe');
  (ctx.server.clock as SimulatedClock).increment(500);
  assert.deepEqual(pings(deliver(ctx, clientSends(ctx, 8), sameHostPort)), [sameHostPort], '500 ms later it is asked again');
  assert.deepEqual(ctx.server.address, CLIENT, 'no move without an echo');
});

test('a move completes to another host keeping the port, and to another port of the same host', () => {
  const ctx = setup();
  deliver(ctx, clientSends(ctx, 1), CLIENT);
  const rebound: Endpoint = { host: MOVED.host, port: CLIENT.port };
  const probes = deliver(ctx, clientSends(ctx, 2), rebound).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.equal(probes.length, 1);
  deliver(ctx, clientEchoes(ctx, probes[0]!.datagram), rebound);
  assert.deepEqual(ctx.server.address, rebound);
  assert.deepEqual(ctx.moves, [rebound]);
  // and back to the first host, same port again
  const back = deliver(ctx, clientSends(ctx, 3), CLIENT).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.equal(back.length, 1);
  deliver(ctx, clientEchoes(ctx, back[0]!.datagram), CLIENT);
  assert.deepEqual(ctx.server.address, CLIENT);
  // a NAT rebinding: same host, another port
  const rebinding: Endpoint = { host: CLIENT.host, port: CLIENT.port + 1 };
  const again = deliver(ctx, clientSends(ctx, 4), rebinding).filter((s) => ctx.chunkTypes(s.datagram).includes(CHUNK.PING));
  assert.equal(again.length, 1);
  deliver(ctx, clientEchoes(ctx, again[0]!.datagram), rebinding);
  assert.deepEqual(ctx.server.address, rebinding);
  assert.deepEqual(ctx.moves, [rebound, CLIENT, rebinding]);
});
