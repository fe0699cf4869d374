// Model-based test of the sending-flow lifecycle: paths through machines/writer.ts (its retransmitTick timer as
// explicit events, one per guard outcome) replayed on a real FlowWriter of a real session pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { writerMachine, type WriterEvent } from '../../machines/writer.ts';
import { ByteWriter, equalBytes } from '../../src/bytes.ts';
import { CHUNK, writeChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import type { FlowWriter } from '../../src/protocols/rtmfp/flow/writer.ts';
import { Pair, delayedEvents, modelOf } from '../helpers/pair.ts';

type Outcome = 'gaveUp' | 'due' | 'drained' | 'none';
type ModelEvent = WriterEvent | { type: string; outcome?: Outcome };
type Snap = ReturnType<typeof writerMachine.transition>;
type ModelStep = { event: ModelEvent; state: Snap };

const outcomeOf = (event: unknown): Outcome | undefined => (event as { outcome?: Outcome }).outcome;
const model = modelOf(writerMachine, {
  gaveUp: ({ event }) => outcomeOf(event) === 'gaveUp',
  retransmissionDue: ({ event }) => outcomeOf(event) === 'due',
  drained: ({ event }) => outcomeOf(event) === 'drained',
});
const ticks = delayedEvents(writerMachine);
const events: ModelEvent[] = [
  { type: 'SENT' },
  { type: 'PROGRESS' },
  { type: 'REARM' },
  { type: 'CLOSE' },
  { type: 'EXCEPTION', code: 0 },
  { type: 'ABANDON', reason: 'session failing' },
  ...ticks.flatMap((t) => (['gaveUp', 'due', 'drained', 'none'] as const).map((outcome) => ({ type: t.type, outcome }))),
];
const traversal: { [key: string]: unknown; serializeState: (snapshot: Snap) => string } = {
  input: { key: 0 },
  events,
  serializeState: (snapshot: Snap) => JSON.stringify(snapshot.value),
};
const shortest = getShortestPaths(model, traversal as never) as Array<{ steps: ModelStep[]; state: Snap }>;
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
    if (JSON.stringify(prefix.steps.at(-1)!.event) === JSON.stringify(event)) continue;
    edgePaths.push({ steps: [...prefix.steps, { event, state: next as Snap }], state: next as Snap });
  }
}
const paths = [...shortest, ...edgePaths];

const GIVE_UP = 12_000;
const NC_SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);

const tickFrom = (event: ModelEvent): string | undefined => /^xstate\.after\.retransmitTick\.writer\.(\w+)$/.exec(event.type)?.[1];

/** Steps this driver cannot produce on the real writer, with why (the test is then marked todo). */
function unsupported(steps: ModelStep[]): string | undefined {
  if (steps[0]?.event.type === 'CLOSE' && steps.length > 1) {
    const next = steps[1]!.event;
    if (tickFrom(next) && outcomeOf(next) !== 'drained') {
      return 'an unused writer has nothing in flight: its first closing tick is always drained, never due or given up';
    }
  }
  for (const step of steps) {
    const from = tickFrom(step.event);
    const outcome = outcomeOf(step.event);
    if (from === 'awaitingAck' && outcome === 'none') {
      return 'awaitingAck re-arm: the tick is armed for the earliest RTO deadline, so when it fires something is always due';
    }
    if (from === 'closing' && (outcome === 'none' || outcome === 'due')) {
      return 'closing re-arm: FIN and data go out together and are due at the same tick; no hook to hold one back';
    }
  }
  return undefined;
}

class Driver {
  readonly pair: Pair;
  readonly writer: FlowWriter;
  readonly sent: Uint8Array[] = [];
  private readonly reliable: boolean;

  constructor(steps: ModelStep[]) {
    // a give-up on the first tick needs a give-up period no longer than the first RTO (1 s before any sample)
    const quickGiveUp = steps.some((s) => tickFrom(s.event) === 'awaitingAck' && outcomeOf(s.event) === 'gaveUp');
    this.pair = new Pair({ giveUpMs: quickGiveUp ? 1_000 : GIVE_UP });
    // unreliable fragments are dropped rather than resent: the only way to drain while retransmitting
    this.reliable = !steps.some((s) => tickFrom(s.event) === 'retransmitting' && outcomeOf(s.event) === 'drained');
    this.writer = this.pair.initiator.newWriter(NC_SIGNATURE, undefined, this.reliable);
    // a re-arm needs the first message to leave in one packet, before any round trip sample (RTO still 3 s)
    this.oneShot = steps.some((s) => s.event.type === 'REARM');
  }

  private readonly oneShot: boolean;

  get state(): string {
    return JSON.stringify(this.writer.actor.getSnapshot().value);
  }

  private async until(done: () => boolean, bound: number): Promise<void> {
    for (let t = 0; t < bound && !done(); t += 50) await this.pair.advance(50, 50);
  }

  async exec(event: ModelEvent, next: ModelEvent | undefined): Promise<void> {
    const { pair, writer } = this;
    const wire = pair.wire.drop;
    switch (event.type) {
      case 'SENT': {
        // a message written while idle: the session's flush puts it on the wire, and that is the event
        const message = Uint8Array.from({ length: this.oneShot ? 500 : 3_000 }, (_, i) => (i * 7 + this.sent.length) & 0xff);
        this.sent.push(message);
        // acknowledged (the first round trip sample) before a drained tick, or before data that must re-arm the tick
        const acked = next !== undefined && ((tickFrom(next) === 'awaitingAck' && outcomeOf(next) === 'drained') || next.type === 'REARM');
        wire.initiator = wire.responder = !acked;
        writer.write(message);
        assert.equal(this.state, '"idle"', 'written, not yet on the wire: still idle until the flush');
        await pair.settle();
        return;
      }
      case 'REARM': {
        // the tick was armed with the initial 3 s RTO; the ack brought a sample (RTO 250 ms): new data re-arms it
        const before = writer.nextTickAt;
        const message = Uint8Array.from({ length: 500 }, (_, i) => (i * 3 + this.sent.length) & 0xff);
        this.sent.push(message);
        writer.write(message);
        await pair.settle();
        assert.ok(writer.nextTickAt < before - 1_000, `tick re-armed: ${before} -> ${writer.nextTickAt}`);
        return;
      }
      case 'CLOSE':
        writer.close();
        return;
      case 'EXCEPTION': {
        const chunk = new ByteWriter(8);
        writeChunk(chunk, { type: CHUNK.FLOW_EXCEPTION, flowId: writer.id, code: 0 });
        wire.responder = false;
        pair.inject('responder', chunk.view_());
        await pair.settle();
        return;
      }
      case 'ABANDON':
        writer.abandon((event as { reason: string }).reason);
        return;
      case 'PROGRESS': {
        wire.initiator = wire.responder = false;
        const before = this.state;
        await this.until(() => this.state !== before, 10_000);
        return;
      }
      default: {
        const from = tickFrom(event);
        assert.ok(from, `unknown model event ${event.type}`);
        const outcome = outcomeOf(event)!;
        const before = this.state;
        const retransmissions = writer.stats.retransmissions;
        if (outcome === 'drained') {
          if (from !== 'retransmitting') wire.initiator = wire.responder = false;
        } else {
          wire.initiator = wire.responder = true;
        }
        // retransmitting has no "due" branch: a due tick is the plain re-arm
        if (from === 'retransmitting' && (outcome === 'none' || outcome === 'due')) {
          await this.until(() => writer.stats.retransmissions > retransmissions, 10_000);
        } else if (from === 'closing' && outcome === 'drained') {
          wire.initiator = wire.responder = false;
          await this.until(() => this.state !== before, 20_000);
        } else {
          await this.until(() => this.state !== before, GIVE_UP + 5_000);
        }
      }
    }
  }
}

function describe(events: ModelEvent[]): string {
  return events.map((e) => (tickFrom(e) ? `@tick(${outcomeOf(e)})` : e.type)).join(' → ');
}

const covered = new Set<string>();
for (const path of paths) {
  const steps = path.steps.slice(1);
  const name = `${JSON.stringify(path.state.value)} via ${describe(steps.map((s) => s.event)) || 'start'}`;
  covered.add(JSON.stringify(path.state.value));
  const todo = unsupported(steps);
  test(`writer model: ${name}`, todo ? { todo } : {}, async () => {
    const driver = new Driver(steps);
    for (const [index, step] of steps.entries()) {
      await driver.exec(step.event, steps[index + 1]?.event);
      assert.equal(driver.state, JSON.stringify(step.state.value), `after step ${index + 1} (${describe([step.event])})`);
      const from = tickFrom(step.event);
      if (from === 'retransmitting' || (step.state.value === 'retransmitting' && from)) {
        assert.ok(driver.writer.stats.retransmissions > 0 || !driver.writer.reliable, 'fragments were resent');
      }
      if (step.event.type === 'PROGRESS') {
        // what was lost and resent arrived whole and in order
        const flowId = driver.writer.id;
        const got = driver.pair.received('responder', flowId);
        assert.ok(equalBytes(got.subarray(0, driver.sent[0]!.length), driver.sent[0]!), 'data byte-identical after retransmission');
      }
    }
    if (path.state.value === 'abandoned') {
      assert.equal(driver.writer.closed, true);
      assert.equal(driver.pair.initiator.writer(driver.writer.id), undefined, 'session forgot the abandoned writer');
    }
    if (path.state.value === 'closed') {
      assert.equal(driver.pair.initiator.writer(driver.writer.id), undefined, 'session forgot the closed writer');
    }
  });
}

test('writer model: the paths reach every state of the machine', () => {
  for (const state of ['idle', 'awaitingAck', 'retransmitting', 'closing', 'abandoned', 'closed']) {
    assert.ok(covered.has(JSON.stringify(state)), `no path to ${state}`);
  }
});

test('writer: a rejected flow (delegate returns null) abandons the writer with the exception code', async () => {
  const pair = new Pair();
  pair.records.responder.accept = () => false;
  const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
  writer.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  assert.equal(pair.chunksFrom('responder', 0, CHUNK.FLOW_EXCEPTION).length, 1);
  assert.equal(writer.actor.getSnapshot().value, 'abandoned');
  assert.equal(writer.actor.getSnapshot().context.reason, 'flow exception 0');
});

test('writer: lost data is resent past the RTO and arrives byte-identical; an orderly close ends the flow', async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
  // within the initial congestion window (3 packets), so the first flush puts it all on the wire
  const message = Uint8Array.from({ length: 3_000 }, (_, i) => (i * 13) & 0xff);
  pair.wire.drop.initiator = true;
  writer.write(message);
  await pair.settle();
  assert.equal(writer.state, 'awaitingAck');
  pair.wire.drop.initiator = false;
  await pair.advance(3_500, 50); // the initial ERTO is 3 s (RFC 7016 §3.5.2.2)
  assert.ok(writer.stats.retransmissions > 0);
  assert.ok(equalBytes(pair.received('responder', writer.id), message));
  writer.close();
  await pair.advance(3_000, 50);
  assert.equal(writer.state, 'closed');
  assert.deepEqual(pair.records.responder.ended, [writer.id]);
});

test('writer: with every packet lost the writer gives up after giveUpMs and the session forgets it', async () => {
  const pair = new Pair({ giveUpMs: GIVE_UP });
  const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(9, 9, 9));
  await pair.settle();
  await pair.advance(GIVE_UP - 1_000, 50);
  assert.notEqual(writer.state, 'abandoned');
  await pair.advance(5_000, 50);
  assert.equal(writer.state, 'abandoned');
  assert.equal(writer.actor.getSnapshot().context.reason, 'retransmission limit');
});

test('writer: acknowledgements of nothing new do not keep a writer from giving up', async () => {
  const pair = new Pair({ giveUpMs: GIVE_UP });
  const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle(); // acknowledged: cumulative ack 1
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(2)); // lost, every time
  await pair.settle();
  // the peer keeps repeating its old acknowledgement (a duplicate, or replayed)
  const stale = new ByteWriter(16);
  writeChunk(stale, { type: CHUNK.ACK_RANGES, flowId: writer.id, bufferBlocks: 0x7f, cumulativeAck: 1, ranges: [] });
  for (let t = 0; t < GIVE_UP + 5_000 && writer.state !== 'abandoned'; t += 500) {
    pair.inject('responder', stale.bytes());
    await pair.advance(500, 50);
  }
  assert.equal(writer.state, 'abandoned');
  assert.equal(writer.actor.getSnapshot().context.reason, 'retransmission limit');
});
