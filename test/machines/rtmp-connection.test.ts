// Model-based test of the RTMP connection lifecycle: shortest paths to every state of
// machines/rtmp-connection.ts plus every transition a reachable state handles (timeouts as explicit events),
// each replayed on a real RtmpServer over loopback TCP with a SimulatedClock. After each step the real actor
// must have passed through the model's state (a failed connection destroys its socket, so `failed` is left for
// `closed` as soon as the socket reports it: the actor's visited states are recorded, not only its last one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { SimulatedClock } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { rtmpConnectionMachine, type RtmpConnectionEvent } from '../../machines/rtmp-connection.ts';
import { Core } from '../../src/core/core.ts';
import { acceptAll, type ApplicationPort } from '../../src/core/ports.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { RtmpServer } from '../../src/protocols/rtmp/server.ts';
import type { RtmpConnection } from '../../src/protocols/rtmp/connection.ts';
import { ChunkWriter } from '../../src/protocols/rtmp/chunk-writer.ts';
import { ChunkReader } from '../../src/protocols/rtmp/chunk-reader.ts';
import { MSG } from '../../src/protocols/rtmp/params.ts';
import { encodeCommand } from '../../src/flash/tc.ts';
import { delayedEvents, modelOf } from '../helpers/pair.ts';

const TIMEOUT_S = 60;
const HANDSHAKE_TIMEOUT = 10_000;
const CLOSE_TIMEOUT = 5_000;

type ModelEvent = RtmpConnectionEvent | { type: string; silent?: boolean };
type Snap = ReturnType<typeof rtmpConnectionMachine.transition>;
type ModelStep = { event: ModelEvent; state: Snap };

const model = modelOf(rtmpConnectionMachine, { silent: ({ event }) => (event as { silent?: boolean }).silent === true });
const delayed = delayedEvents(rtmpConnectionMachine);
const delayOf = new Map(delayed.map((d) => [d.type, d.delay]));
const events: ModelEvent[] = [
  { type: 'HANDSHAKEN' },
  { type: 'CONNECTED' },
  { type: 'REJECTED', reason: 'rejected by app' },
  { type: 'CLOSE', reason: 'local close' },
  { type: 'FAIL', reason: 'protocol error' },
  { type: 'SOCKET_CLOSED' },
  ...delayed.flatMap((d) => (d.delay === 'idleCheck' ? [{ type: d.type }, { type: d.type, silent: true }] : [{ type: d.type }])),
];
const serializeState = (snapshot: Snap): string => JSON.stringify(snapshot.value);
const traversal = { input: { key: 0 }, events, serializeState };
const shortest = getShortestPaths(model, traversal as never) as unknown as Array<{ steps: ModelStep[]; state: Snap }>;
const byState = new Map(shortest.map((p) => [serializeState(p.state), p]));
const edgePaths: Array<{ steps: ModelStep[]; state: Snap }> = [];
for (const [key, { state, transitions }] of Object.entries<{
  state: unknown;
  transitions: { [k: string]: { event: ModelEvent; state: unknown } };
}>(getAdjacencyMap(model, traversal as never) as never)) {
  const prefix = byState.get(key);
  if (!prefix || (state as Snap).status !== 'active') continue;
  for (const { event, state: next } of Object.values(transitions)) {
    if (!(state as Snap).can(event as never)) continue;
    edgePaths.push({ steps: [...prefix.steps, { event, state: next as Snap }], state: next as Snap });
  }
}
const paths = [...shortest, ...edgePaths];

/** Connections to "reject" are refused by the application; everything else is accepted. */
const application: ApplicationPort = {
  ...acceptAll,
  onConnection: (client) => (client.path === 'reject' ? { accepted: false, description: 'rejected by app' } : { accepted: true, info: {} }),
};

class Driver {
  readonly clock = new SimulatedClock();
  server!: RtmpServer;
  socket!: net.Socket;
  connection!: RtmpConnection;
  readonly visited: string[] = [];
  private readonly writer = new ChunkWriter();
  private received = 0;
  private handshaken = false;
  pings = 0;

  async start(): Promise<void> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { config } = loadConfig([`--RTMP.port=${port}`, '--RTMP.host=127.0.0.1', `--RTMP.timeout=${TIMEOUT_S}`], { env: {} });
    const logger = createLogger({ level: 'fatal', pretty: 'false' });
    const core = new Core({ config, logger, clock: this.clock });
    core.application = application;
    this.server = new RtmpServer({ config, logger, core, clock: this.clock });
    await this.server.start();
    // half-open allowed: the far end never closes on its own, so `closing` lasts until the model says
    this.socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.on('error', () => {});
    const reader = new ChunkReader((message) => {
      if (message.type === MSG.SET_CHUNK_SIZE)
        reader.setChunkSize(new DataView(message.payload.buffer, message.payload.byteOffset).getUint32(0));
      if (message.type === MSG.USER_CONTROL && message.payload[1] === 6) this.pings++;
    });
    this.socket.on('data', (data: Buffer) => {
      // S0 S1 S2 first, then chunks
      const skip = Math.max(0, Math.min(data.length, 3073 - this.received));
      this.received += data.length;
      if (skip < data.length) reader.push(data.subarray(skip));
    });
    await until(() => this.server.connections.size === 1, 'connection accepted');
    this.connection = [...this.server.connections.values()][0]!;
    this.connection.actor.subscribe((snapshot) =>
      this.visited.push(String(typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0])),
    );
    this.visited.push(this.connection.state);
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.server.close();
  }

  private async sendCommand(name: string, object: Record<string, string>): Promise<void> {
    const message = encodeCommand(name, 1, object, [], { amf0Only: true });
    this.socket.write(this.writer.encode(3, MSG.COMMAND_AMF0, 0, 0, message.subarray(5)));
    await settle();
  }

  async exec(event: ModelEvent): Promise<void> {
    switch (event.type) {
      case 'HANDSHAKEN':
        this.handshaken = true;
        this.socket.write(Uint8Array.of(3, ...new Uint8Array(1536), ...new Uint8Array(1536)));
        await until(() => this.received >= 3073, 'S0S1S2');
        return;
      case 'CONNECTED':
        return this.sendCommand('connect', { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' });
      case 'REJECTED':
        return this.sendCommand('connect', { app: 'reject', tcUrl: 'rtmp://127.0.0.1/reject' });
      case 'CLOSE':
        this.connection.close('local close');
        return settle();
      case 'FAIL':
        // a wrong version byte during the handshake, a fmt 3 chunk on a fresh chunk stream after it
        this.socket.write(this.handshaken ? Uint8Array.of(0xc9, 1, 2, 3) : Uint8Array.of(6));
        return settle();
      case 'SOCKET_CLOSED':
        this.socket.destroy();
        await until(() => this.connection.closed, 'socket close seen');
        return;
      default: {
        const delay = delayOf.get(event.type);
        assert.ok(delay, `unknown model event ${event.type}`);
        const silent = (event as { silent?: boolean }).silent === true;
        if (delay === 'handshakeTimeout') this.clock.increment(HANDSHAKE_TIMEOUT);
        else if (delay === 'closeTimeout') this.clock.increment(CLOSE_TIMEOUT);
        else if (delay === 'pingInterval') {
          this.clock.increment((TIMEOUT_S * 1000) / 2);
          await until(() => this.pings > 0, 'PingRequest');
        } else if (silent) {
          this.clock.increment(TIMEOUT_S * 1000);
        } else {
          // heard half-way: when the check fires the connection is not silent and re-arms for what is left
          this.clock.increment((TIMEOUT_S * 1000) / 2);
          this.socket.write(this.writer.encode(2, MSG.WINDOW_ACK_SIZE, 0, 0, Uint8Array.of(0, 0x26, 0x25, 0xa0)));
          await settle();
          this.clock.increment((TIMEOUT_S * 1000) / 2);
        }
        return settle();
      }
    }
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const covered = new Set<string>();
for (const path of paths) {
  const steps = path.steps.slice(1);
  const name = `${serializeState(path.state)} via ${steps.map((s) => `${s.event.type.replace(/^xstate\.after\.(\w+)\..*$/, '$1')}${(s.event as { silent?: boolean }).silent ? '(silent)' : ''}`).join(' → ') || 'start'}`;
  covered.add(JSON.stringify(path.state.value));
  test(`rtmp connection model: ${name}`, { timeout: 10_000 }, async () => {
    const driver = new Driver();
    await driver.start();
    try {
      for (const [index, step] of steps.entries()) {
        const from = driver.visited.length - 1;
        await driver.exec(step.event);
        const expected = String(typeof step.state.value === 'string' ? step.state.value : Object.keys(step.state.value)[0]);
        const seen = driver.visited.slice(from);
        assert.ok(
          seen.includes(expected),
          `after step ${index + 1} (${step.event.type}): expected ${expected}, visited ${JSON.stringify(seen)}`,
        );
      }
    } finally {
      await driver.close();
    }
  });
}

test('rtmp connection model: the paths reach every state of the machine', () => {
  for (const state of ['"handshake"', '"connecting"', '{"connected":"alive"}', '"closing"', '"failed"', '"closed"'])
    assert.ok(covered.has(state), state);
});
