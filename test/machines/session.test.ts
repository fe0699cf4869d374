// Model-based test of the session lifecycle: every state of machines/session.ts is reached through the graph
// of the machine (timeouts as explicit events), and each path is replayed on a real pair of Sessions, checking
// after every step that the real actor is where the model is and that the wire shows the right chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { sessionMachine, type SessionEvent } from '../../machines/session.ts';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import type { FlowWriter } from '../../src/protocols/rtmfp/flow/writer.ts';
import { Pair, delayedEvents, modelOf } from '../helpers/pair.ts';

const KEEPALIVE = 15_000;
const PING_INTERVAL = 2_000;
const CLOSE_REPEAT = 2_000;
const CLOSE_TIMEOUT = 20_000;
const KEYING_TIMEOUT = 95_000;
const MAX_PINGS = 2;
const NC_SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);

/** Model events: the machine's own plus its delayed events, the keepalive one in both guard outcomes. */
type ModelEvent = SessionEvent | { type: string; silent?: boolean };

const model = modelOf(sessionMachine, { silent: ({ event }) => (event as { silent?: boolean }).silent === true });
const delayed = delayedEvents(sessionMachine);
const delayOf = new Map(delayed.map((d) => [d.type, d.delay]));
const events: ModelEvent[] = [
  { type: 'KEYED' },
  { type: 'HEARD' },
  { type: 'CONNECTED' },
  { type: 'REJECTED', reason: 'rejected by app' },
  { type: 'CLOSE', reason: 'local close' },
  { type: 'FAR_CLOSE' },
  { type: 'FAR_CLOSE_ACK' },
  { type: 'FAIL', reason: 'local failure' },
  ...delayed.flatMap((d) => (d.delay === 'keepAlive' ? [{ type: d.type }, { type: d.type, silent: true }] : [{ type: d.type }])),
];

type Snap = ReturnType<typeof sessionMachine.transition>;

const traversal: { [key: string]: unknown; serializeState: (snapshot: Snap) => string } = {
  input: { maxPings: MAX_PINGS },
  events,
  // one target per (state, unanswered pings): the counter is part of the behaviour under test
  serializeState: (snapshot: Snap) => JSON.stringify([snapshot.value, snapshot.context.pings]),
};
const shortest = getShortestPaths(model, traversal as never);

// Transition coverage: every event a reachable state handles, appended to the shortest path to that state.
type ModelStep = { event: ModelEvent; state: Snap };
const byState = new Map(shortest.map((p) => [traversal.serializeState(p.state), p]));
const edgePaths: Array<{ steps: ModelStep[]; state: Snap }> = [];
for (const [key, { state, transitions }] of Object.entries<{
  state: unknown;
  transitions: { [k: string]: { event: ModelEvent; state: unknown } };
}>(getAdjacencyMap(model, traversal as never) as never)) {
  const prefix = byState.get(key);
  if (!prefix || (state as Snap).status !== 'active') continue;
  for (const { event, state: next } of Object.values(transitions)) {
    if (!(state as Snap).can(event as never)) continue;
    const last = prefix.steps.at(-1)!;
    if (prefix.steps.length > 1 && JSON.stringify(last.event) === JSON.stringify(event)) continue;
    edgePaths.push({ steps: [...(prefix.steps as ModelStep[]), { event, state: next as Snap }], state: next as Snap });
  }
}
const paths = [...(shortest as Array<{ steps: ModelStep[]; state: Snap }>), ...edgePaths];

/** The responder is the session under test; the initiator plays the far end. */
class Driver {
  readonly pair = new Pair({ keepAliveMs: KEEPALIVE, maxPings: MAX_PINGS });
  readonly subject = this.pair.responder;
  readonly peer = this.pair.initiator;
  private peerWriter: FlowWriter | undefined;
  aliveSince = 0;
  pingingSince = 0;
  phaseSince = 0;
  requestingSince = 0;

  private async peerSpeaks(): Promise<void> {
    this.peerWriter ??= this.peer.newWriter(NC_SIGNATURE, undefined);
    this.peerWriter.write(Uint8Array.of(0x14, 1, 2, 3));
    await this.pair.settle();
  }

  async exec(event: ModelEvent): Promise<void> {
    const { pair, subject, peer } = this;
    const now = (): number => pair.clock.now();
    switch (event.type) {
      case 'KEYED':
        await this.peerSpeaks();
        this.aliveSince = now();
        return;
      case 'HEARD':
        pair.wire.drop.initiator = false;
        await this.peerSpeaks();
        this.aliveSince = now();
        return;
      case 'CONNECTED':
        subject.actor.send(event as SessionEvent);
        break;
      case 'REJECTED':
        pair.wire.drop.responder = true;
        // the NetConnection layer (src/protocols/rtmfp/client.ts) reports these straight to the actor
        subject.actor.send(event as SessionEvent);
        break;
      case 'CLOSE':
        pair.wire.drop.responder = true;
        subject.close((event as { reason: string }).reason);
        break;
      case 'FAIL':
        pair.wire.drop.responder = true;
        subject.fail((event as { reason: string }).reason);
        break;
      case 'FAR_CLOSE':
        pair.wire.drop.initiator = false;
        if (peer.state === 'open') peer.close('peer closes');
        else pair.inject('initiator', Uint8Array.of(CHUNK.CLOSE, 0, 0));
        break;
      case 'FAR_CLOSE_ACK':
        pair.wire.drop.initiator = false;
        pair.inject('initiator', Uint8Array.of(CHUNK.CLOSE_ACK, 0, 0));
        break;
      default: {
        const delay = delayOf.get(event.type);
        assert.ok(delay, `unknown model event ${event.type}`);
        await this.timeout(delay, (event as { silent?: boolean }).silent === true);
        return;
      }
    }
    // whatever the subject says while closing must not reach a peer that would answer it
    if (subject.state === 'closing' || subject.state === 'failed') pair.wire.drop.responder = true;
    await pair.settle();
    if (event.type === 'CLOSE' || event.type === 'FAIL' || event.type === 'REJECTED') {
      this.phaseSince = this.requestingSince = now();
    }
  }

  private async timeout(delay: string, silent: boolean): Promise<void> {
    const { pair } = this;
    const until = async (at: number): Promise<void> => pair.advance(Math.max(0, at - pair.clock.now()));
    switch (delay) {
      case 'keyingTimeout':
        return until(KEYING_TIMEOUT);
      case 'keepAlive':
        if (silent) {
          pair.wire.drop.initiator = true;
          await until(this.aliveSince + KEEPALIVE);
          this.pingingSince = pair.clock.now();
        } else {
          // the peer talks before the period ends: the timer fires, finds activity and re-arms
          await until(this.aliveSince + KEEPALIVE / 2);
          await this.peerSpeaks();
          await until(this.aliveSince + KEEPALIVE);
        }
        return;
      case 'pingInterval':
        await until(this.pingingSince + PING_INTERVAL);
        this.pingingSince = pair.clock.now();
        if (this.subject.state === 'failed') {
          this.phaseSince = this.requestingSince = pair.clock.now();
          pair.wire.drop.responder = true;
        }
        return;
      case 'closeRepeat':
        await until(this.requestingSince + CLOSE_REPEAT);
        this.requestingSince = pair.clock.now();
        return;
      case 'closeTimeout':
        return until(this.phaseSince + CLOSE_TIMEOUT);
      default:
        assert.fail(`no driver for delay ${delay}`);
    }
  }
}

function describe(events: ReadonlyArray<{ type: string; silent?: boolean }>): string {
  return events.map((e) => e.type.replace(/^xstate\.after\.(\w+)\..*$/, '@$1') + (e.silent ? '(silent)' : '')).join(' → ');
}

function expectedEffects(driver: Driver, event: ModelEvent, before: Snap, after: Snap, logFrom: number): void {
  const { pair } = driver;
  const sent = (type: number): number => pair.chunksFrom('responder', logFrom, type).length;
  const record = pair.records.responder;
  const leftOpen = typeof before.value === 'object' && 'open' in before.value;
  const closing = typeof after.value === 'object' && 'closing' in after.value;
  if (((event.type === 'CLOSE' || event.type === 'REJECTED') && closing) || event.type.includes('closeRepeat')) {
    assert.equal(sent(CHUNK.CLOSE), 1, 'one Close Request sent');
  }
  const failing = typeof after.value === 'object' && 'failed' in after.value;
  if (
    (event.type === 'FAIL' || event.type.includes('pingInterval')) &&
    failing &&
    !(typeof before.value === 'object' && 'failed' in before.value)
  ) {
    assert.equal(sent(CHUNK.CLOSE), 1, 'failing sends a Close Request');
    assert.equal(record.failed.length, 1, 'onFailed called once');
  }
  if (event.type === 'FAIL' && failing) assert.equal(record.failed[0], 'local failure');
  if (event.type.includes('pingInterval') && typeof after.value === 'object' && 'failed' in after.value) {
    assert.equal(record.failed[0], 'keepalive timeout');
  }
  if (
    (event as { silent?: boolean }).silent ||
    (event.type.includes('pingInterval') && typeof after.value === 'object' && 'open' in after.value)
  ) {
    assert.equal(sent(CHUNK.PING), 1, 'one keepalive ping sent');
  }
  if (event.type.includes('keepAlive') && !(event as { silent?: boolean }).silent) {
    assert.equal(sent(CHUNK.PING), 0, 'no ping while the peer talks');
  }
  if (event.type === 'FAR_CLOSE' && (leftOpen || before.value === 'keying' || typeof before.value === 'object')) {
    assert.equal(sent(CHUNK.CLOSE_ACK), 1, 'a Close Request is acknowledged');
  }
  if (after.value === 'closed') {
    assert.equal(record.closed.length, 1, 'onClosed called once');
    assert.equal(driver.subject.closed, true);
  } else {
    assert.equal(record.closed.length, 0, 'onClosed not called yet');
  }
}

const covered = new Set<string>();
for (const path of paths) {
  const steps = path.steps.slice(1) as Array<{ event: ModelEvent; state: Snap }>;
  const name = `${JSON.stringify(path.state.value)} pings=${path.state.context.pings} via ${describe(steps.map((s) => s.event)) || 'start'}`;
  covered.add(JSON.stringify(path.state.value));
  test(`session model: ${name}`, async () => {
    const driver = new Driver();
    let previous = path.steps[0]!.state;
    assert.deepEqual(driver.subject.actor.getSnapshot().value, previous.value);
    for (const [index, step] of steps.entries()) {
      const logFrom = driver.pair.log.length;
      await driver.exec(step.event);
      const real = driver.subject.actor.getSnapshot();
      const where = `after step ${index + 1} (${describe([step.event])})`;
      assert.deepEqual(real.value, step.state.value, `state ${where}`);
      // a packet that ends the session first reports HEARD, so the counter is only compared while it matters
      if (step.state.value !== 'closed') assert.equal(real.context.pings, step.state.context.pings, `pings ${where}`);
      expectedEffects(driver, step.event, previous, step.state, logFrom);
      previous = step.state;
    }
    // a closed session stays closed and silent: time passing changes nothing
    if (driver.subject.closed) {
      const logFrom = driver.pair.log.length;
      await driver.pair.advance(CLOSE_TIMEOUT, 1_000);
      assert.equal(driver.pair.chunksFrom('responder', logFrom).length, 0);
      assert.equal(driver.pair.records.responder.closed.length, 1);
    }
  });
}

test('session model: the paths reach every state of the machine', () => {
  const expected = ['"keying"', '"closed"', '{"closing":"requesting"}', '{"failed":"requesting"}'];
  for (const connection of ['connecting', 'connected']) {
    for (const liveness of ['alive', 'pinging']) expected.push(JSON.stringify({ open: { connection, liveness } }));
  }
  for (const state of expected) assert.ok(covered.has(state), `no path to ${state}`);
});

test('session: pings go out every pingInterval after keepAlive of silence, then the session fails', async () => {
  const driver = new Driver();
  await driver.exec({ type: 'KEYED' });
  const start = driver.pair.clock.now();
  const logFrom = driver.pair.log.length;
  driver.pair.wire.drop.initiator = true;
  const pingTimes: number[] = [];
  const seen = (): number => driver.pair.chunksFrom('responder', logFrom, CHUNK.PING).length;
  for (let t = 0; t < KEEPALIVE + PING_INTERVAL * (MAX_PINGS + 1); t += 100) {
    const count = seen();
    await driver.pair.advance(100);
    if (seen() > count) pingTimes.push(driver.pair.clock.now() - start);
  }
  assert.deepEqual(pingTimes, [KEEPALIVE, KEEPALIVE + PING_INTERVAL]);
  assert.equal(driver.subject.state, 'failed');
  assert.deepEqual(driver.pair.records.responder.failed, ['keepalive timeout']);
});

test('session: Close Requests repeat every closeRepeat until closeTimeout, then onClosed once', async () => {
  const driver = new Driver();
  await driver.exec({ type: 'KEYED' });
  await driver.exec({ type: 'CLOSE', reason: 'bye' });
  const logFrom = driver.pair.log.length;
  await driver.pair.advance(CLOSE_TIMEOUT + 5_000);
  // repeats at 2 s, 4 s … 18 s; at 20 s the close timeout wins over the tenth repeat (same instant)
  const repeats = driver.pair.chunksFrom('responder', logFrom, CHUNK.CLOSE).length;
  assert.ok(repeats === 9 || repeats === 10, `${repeats} Close Requests repeated`);
  assert.equal(driver.subject.state, 'closed');
  assert.deepEqual(driver.pair.records.responder.closed, ['bye']);
});

test('session: an orderly close between two real sessions ends both, each onClosed once', async () => {
  const driver = new Driver();
  await driver.exec({ type: 'KEYED' });
  driver.subject.close('done');
  await driver.pair.settle();
  assert.equal(driver.subject.state, 'closed');
  assert.equal(driver.peer.state, 'closed');
  assert.deepEqual(driver.pair.records.responder.closed, ['done']);
  assert.deepEqual(driver.pair.records.initiator.closed, ['closed by peer']);
  assert.equal(driver.pair.chunksFrom('initiator', 0, CHUNK.CLOSE_ACK).length, 1);
});
