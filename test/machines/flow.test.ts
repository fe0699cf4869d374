// Model-based test of the receiving-flow lifecycle: every path of machines/flow.ts replayed on a real session
// pair; the session keeps its flow actors private, so they are caught through the inspection hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getSimplePaths } from 'xstate/graph';
import type { AnyActorRef } from 'xstate';
import { flowMachine, type FlowEvent, type FlowInput } from '../../machines/flow.ts';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { Pair, capturingActors, modelOf } from '../helpers/pair.ts';
import { userDataFragment } from '../helpers/user-data.ts';

const NC_SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);
type Snap = ReturnType<typeof flowMachine.transition>;

const model = modelOf(flowMachine, {});
const events: FlowEvent[] = [{ type: 'REJECT', reason: 'unknown metadata' }, { type: 'FINISHED' }, { type: 'CLOSE' }];
const paths = getSimplePaths(model, {
  events,
  input: { kind: 'NetConnection' } satisfies FlowInput,
  serializeState: (s) => JSON.stringify(s.value),
});

const covered = new Set<string>();
for (const path of paths) {
  const steps = path.steps.slice(1) as Array<{ event: FlowEvent; state: Snap }>;
  const name = `${JSON.stringify(path.state.value)} via ${steps.map((s) => s.event.type).join(' → ') || 'start'}`;
  covered.add(JSON.stringify(path.state.value));
  // the application's verdict comes in the call that creates the flow: a refusal is the first step or none
  const rejected = steps[0]?.event.type === 'REJECT';
  test(`flow model: ${name}`, async () => {
    await capturingActors('flow:', async (actors: AnyActorRef[]) => {
      const pair = new Pair({ maxBufferedBytes: 4_096 });
      const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
      const flowActor = (): AnyActorRef => {
        assert.equal(actors.length, 1, 'one flow actor created');
        return actors[0]!;
      };
      if (rejected) pair.records.responder.accept = () => false;
      // the ack (or 0x5e) is held back so the flow is not retired before the next step
      pair.wire.drop.responder = true;
      writer.write(Uint8Array.of(0x14, 0, 1, 2));
      await pair.settle();
      if (!rejected) assert.equal(flowActor().getSnapshot().value, 'open', 'open from its first fragment');
      for (const [index, step] of steps.entries()) {
        const where = `after step ${index + 1} (${step.event.type})`;
        switch (step.event.type) {
          case 'REJECT':
            assert.equal(pair.chunksFrom('responder', 0, CHUNK.FLOW_EXCEPTION).length, 1, 'the sender is told');
            break;
          case 'FINISHED':
            pair.wire.drop.responder = true;
            writer.close();
            await pair.advance(2_000, 50);
            if (!rejected) assert.deepEqual(pair.records.responder.ended, [writer.id]);
            break;
          case 'CLOSE':
            // more out-of-order bytes than the session's bound: the flow is dropped
            for (let seq = 10; seq < 16; seq++) pair.inject('initiator', userDataFragment(writer.id, seq));
            await pair.settle();
            assert.equal(pair.responder.stats.droppedFlows, 1, where);
            break;
        }
        assert.notEqual(flowActor().getSnapshot().status, 'stopped', where);
        assert.equal(JSON.stringify(flowActor().getSnapshot().value), JSON.stringify(step.state.value), where);
      }
    });
  });
}

test('a flow still running when its session ends is stopped with it, in the state it was in', async () => {
  await capturingActors('flow:', async (actors: AnyActorRef[]) => {
    const pair = new Pair();
    const writer = pair.initiator.newWriter(NC_SIGNATURE, undefined);
    pair.wire.drop.responder = true;
    writer.write(Uint8Array.of(0x14, 0, 1, 2));
    await pair.settle();
    assert.equal(actors.length, 1);
    assert.equal(actors[0]!.getSnapshot().value, 'open');
    pair.responder.kill('test');
    assert.equal(actors[0]!.getSnapshot().status, 'stopped');
    assert.equal(actors[0]!.getSnapshot().value, 'open');
  });
});

test('flow model: the paths reach every state of the machine', () => {
  for (const state of ['open', 'rejected', 'complete', 'closed']) assert.ok(covered.has(JSON.stringify(state)), state);
});

test('an accepted flow is named by its signature: NetConnection, NetStream, NetGroup, unknown', async () => {
  await capturingActors('flow:', async (actors: AnyActorRef[]) => {
    const pair = new Pair();
    const signatures: Array<[Uint8Array, string]> = [
      [NC_SIGNATURE, 'NetConnection'],
      [Uint8Array.of(0x54, 0x43, 0x04, 0x01, 0x01), 'NetStream'],
      [Uint8Array.of(0x54, 0x43, 0x04), 'NetStream'],
      [Uint8Array.of(0x47, 0x43), 'NetGroup'],
      [Uint8Array.of(0x01, 0x02), 'unknown'],
    ];
    for (const [signature] of signatures) pair.initiator.newWriter(signature, undefined).write(Uint8Array.of(1));
    await pair.settle();
    assert.equal(actors.length, signatures.length);
    assert.deepEqual(
      actors.map((a) => (a.getSnapshot() as { context: { kind: string } }).context.kind),
      signatures.map(([, kind]) => kind),
    );
  });
});
