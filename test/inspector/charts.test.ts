// Machine definitions read as graphs, drawn as Mermaid and SVG; docs/machines.md up to date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sessionMachine } from '../../machines/session.ts';
import { writerMachine } from '../../machines/writer.ts';
import { activeStateIds, allStates, machineGraph, stateText } from '../../src/inspector/graph.ts';
import { machineMermaid } from '../../src/inspector/mermaid.ts';
import { statechartSvg } from '../../src/inspector/svg.ts';
import { loadMachineModules, machinesMarkdown } from '../../src/inspector/machines-doc.ts';
import { nextMoves } from '../../src/inspector/next.ts';
import { createActor, setup } from 'xstate';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the session machine as a graph: nesting, initial states, timers and guards', () => {
  const graph = machineGraph(sessionMachine);
  const ids = [...allStates(graph.root)].map((s) => s.id);
  assert.ok(ids.includes('session.open.liveness.pinging'));
  const open = [...allStates(graph.root)].find((s) => s.id === 'session.open')!;
  assert.equal(open.type, 'parallel');
  assert.equal(graph.root.initial, 'session.keying');
  const alive = [...allStates(graph.root)].find((s) => s.id === 'session.open.liveness.alive')!;
  assert.deepEqual(
    alive.transitions.filter((t) => t.event.startsWith('after')).map((t) => [t.event, t.guard, t.targets]),
    [
      ['after keepAlive', 'silent', ['session.open.liveness.pinging']],
      ['after keepAlive', undefined, ['session.open.liveness.alive']],
    ],
  );
  assert.equal(machineGraph(sessionMachine), graph, 'cached per definition');
});

test('state texts and active ids for highlighting', () => {
  const value = { open: { connection: 'connected', liveness: 'alive' } };
  assert.equal(stateText(value), 'open: connected · alive');
  assert.equal(stateText('keying'), 'keying');
  assert.equal(stateText({ closing: 'requesting' }), 'closing: requesting');
  assert.deepEqual(activeStateIds('session', value), [
    'session.open',
    'session.open.connection',
    'session.open.connection.connected',
    'session.open.liveness',
    'session.open.liveness.alive',
  ]);
});

test('Mermaid: unique ids for repeated keys, parallel regions, machine-level transitions', () => {
  const session = machineMermaid(machineGraph(sessionMachine));
  assert.match(session, /^stateDiagram-v2/);
  assert.match(session, /state "requesting" as closing_requesting/);
  assert.match(session, /state "requesting" as failed_requesting/);
  assert.match(session, /\n {4}--\n/);
  assert.match(session, /keying --> closed: FAR_CLOSE, FAR_CLOSE_ACK, CLOSE, FAIL, after keyingTimeout/);
  assert.match(session, /open_liveness_alive --> open_liveness_pinging: after keepAlive \[silent\]/);
  const writer = machineMermaid(machineGraph(writerMachine));
  assert.match(writer, /any_state --> abandoned: EXCEPTION, ABANDON/);
});

test('SVG: one group per state for highlighting, every transition drawn', () => {
  const graph = machineGraph(sessionMachine);
  const svg = statechartSvg(graph);
  for (const state of allStates(graph.root)) {
    if (state === graph.root) continue;
    assert.ok(svg.includes(`data-state="${state.id}"`), state.id);
  }
  assert.ok(svg.includes('data-source="session.keying" data-target="session.open"'));
  assert.ok(svg.includes('>KEYED<'));
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
});

test('docs/machines.md is generated from machines/ and up to date', async () => {
  const expected = machinesMarkdown(await loadMachineModules(`${root}machines`));
  const actual = readFileSync(`${root}docs/machines.md`, 'utf8');
  assert.equal(actual, expected, 'stale: run node --import tsx scripts/machines-doc.ts');
});

test('SVG: no two transition labels overlap, nor cover a state name, in any machine', async () => {
  for (const module of await loadMachineModules(`${root}machines`)) {
    for (const machine of module.machines) {
      const svg = statechartSvg(machineGraph(machine));
      const boxes = [...svg.matchAll(/<rect class="label-bg" x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)" height="([-\d.]+)"/g)].map((m) =>
        m.slice(1, 5).map(Number),
      );
      assert.ok(boxes.length > 0, machine.id);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [ax, ay, aw, ah] = boxes[i]!;
          const [bx, by, bw, bh] = boxes[j]!;
          const overlap = ax! < bx! + bw! && bx! < ax! + aw! && ay! < by! + bh! && by! < ay! + ah!;
          assert.ok(!overlap, `${machine.id}: labels ${i} and ${j} overlap`);
        }
      }
    }
  }
});

test('next moves: only what the machine would do now (guards on live context, child before parent, timers)', () => {
  const machine = setup({
    types: { context: {} as { ready: boolean }, events: {} as { type: 'GO' } | { type: 'STOP' } | { type: 'READY' } },
    guards: { ready: ({ context }) => context.ready },
    delays: { tick: 1000 },
  }).createMachine({
    id: 'm',
    context: { ready: false },
    initial: 'idle',
    on: { STOP: '.stopped' },
    states: {
      idle: {
        on: { GO: [{ guard: 'ready', target: 'running' }, { target: 'waiting' }], STOP: 'done' },
        after: { tick: 'waiting' },
      },
      waiting: { on: { READY: 'idle' } },
      running: {},
      stopped: {},
      done: { type: 'final' },
    },
  });
  const graph = machineGraph(machine);
  const actor = createActor(machine).start();
  const moves = (): string[] =>
    nextMoves(machine, actor.getSnapshot(), graph, activeStateIds('m', actor.getSnapshot().value)).map(
      (m) => `${m.event}>${m.targets.join()}`,
    );
  // GO goes to waiting (the guard fails now), STOP is idle's own (the machine-level STOP is overridden), the timer
  assert.deepEqual(moves().sort(), ['GO>m.waiting', 'STOP>m.done', 'after tick>m.waiting']);
  actor.send({ type: 'GO' });
  assert.deepEqual(moves().sort(), ['READY>m.idle', 'STOP>m.stopped']);
  actor.stop();
});
