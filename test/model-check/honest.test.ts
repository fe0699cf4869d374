// Honest actors: a machine declares only what the code does. For every machine in machines/ this reads the
// sources that drive it (the files importing it, and the files importing those that send events to actors) and
// fails when the machine
//   * handles an event no driver sends (a transition the inspector would offer as "what can happen next" that
//     can never happen),
//   * declares an action or a guard its driver does not bind (a no-op action, a guard answering a constant),
//   * declares an action or a guard no transition uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { flowMachine } from '../../machines/flow.ts';
import { membershipMachine } from '../../machines/group.ts';
import { listenerMachine } from '../../machines/listener.ts';
import { publicationMachine } from '../../machines/publication.ts';
import { rtmpConnectionMachine } from '../../machines/rtmp-connection.ts';
import { sessionMachine } from '../../machines/session.ts';
import { writerMachine } from '../../machines/writer.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MACHINES: Array<[string, AnyStateMachine]> = [
  ['flow.ts', flowMachine],
  ['group.ts', membershipMachine],
  ['listener.ts', listenerMachine],
  ['publication.ts', publicationMachine],
  ['rtmp-connection.ts', rtmpConnectionMachine],
  ['session.ts', sessionMachine],
  ['writer.ts', writerMachine],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = new Map(sources(join(ROOT, 'src')).map((path) => [path, readFileSync(path, 'utf8')]));

/** Absolute paths a file imports (relative imports only). */
function importsOf(path: string): string[] {
  const out: string[] = [];
  for (const match of files.get(path)!.matchAll(/from '(\.[^']+)'/g)) out.push(resolve(dirname(path), match[1]!));
  return out;
}

/** Files importing the machine, and the files importing those that send events to some actor. */
function drivers(machineFile: string): string[] {
  const target = join(ROOT, 'machines', machineFile);
  const direct = [...files.keys()].filter((path) => importsOf(path).includes(target));
  const senders = [...files.keys()].filter(
    (path) => !direct.includes(path) && /actor\.send\(/.test(files.get(path)!) && importsOf(path).some((i) => direct.includes(i)),
  );
  return [...direct, ...senders];
}

/** Event types in the `send({ ... })` calls of a file: `type: 'X'`, or `type: cond ? 'X' : 'Y'`. */
function sentEvents(path: string): Set<string> {
  const out = new Set<string>();
  for (const call of files.get(path)!.matchAll(/\.send\(\{([^}]*)\}/g)) {
    const type = /type:([^,}]*)/.exec(call[1]!)?.[1] ?? '';
    for (const literal of type.matchAll(/'([A-Z_]+)'/g)) out.add(literal[1]!);
  }
  return out;
}

type Node = AnyStateMachine['root'];

/** Everything the machine's states and transitions refer to: events handled, actions and guards named. */
function declared(machine: AnyStateMachine): { events: Set<string>; actions: Set<string>; guards: Set<string> } {
  const events = new Set<string>();
  const actions = new Set<string>();
  const guards = new Set<string>();
  const named = (list: unknown, into: Set<string>): void => {
    for (const item of Array.isArray(list) ? list : [list]) {
      if (typeof item === 'string') into.add(item);
      else if (item && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string')
        into.add((item as { type: string }).type);
    }
  };
  const visit = (node: Node): void => {
    named(node.entry, actions);
    named(node.exit, actions);
    for (const [event, transitions] of node.transitions) {
      if (!event.startsWith('xstate.')) events.add(event);
      for (const t of transitions) {
        named(t.actions, actions);
        if (t.guard) named(t.guard, guards);
      }
    }
    for (const t of [...node.after, ...(node.always ?? [])]) {
      named(t.actions, actions);
      if (t.guard) named(t.guard, guards);
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return { events, actions, guards };
}

for (const [file, machine] of MACHINES) {
  test(`honest machine ${file}: every event it handles is sent by its drivers`, () => {
    const driving = drivers(file);
    assert.ok(driving.length > 0, `no source imports machines/${file}`);
    const sent = new Set(driving.flatMap((path) => [...sentEvents(path)]));
    const { events } = declared(machine);
    const never = [...events].filter((event) => !sent.has(event));
    assert.deepEqual(
      never,
      [],
      `machines/${file} handles events nobody sends (drivers: ${driving.map((p) => relative(ROOT, p)).join(', ')})`,
    );
  });

  test(`honest machine ${file}: every action and guard is used by a transition and bound by its driver`, () => {
    const { actions, guards } = declared(machine);
    const implementations = machine.implementations as { actions: object; guards: object };
    const declaredActions = Object.keys(implementations.actions);
    const declaredGuards = Object.keys(implementations.guards);
    assert.deepEqual(
      declaredActions.filter((a) => !actions.has(a)),
      [],
      'actions declared and never used',
    );
    assert.deepEqual(
      declaredGuards.filter((g) => !guards.has(g)),
      [],
      'guards declared and never used',
    );
    // the default implementations are placeholders: the driver's provide({...}) must give each one its effect
    const driver = drivers(file)
      .filter((path) => /\.provide\(/.test(files.get(path)!))
      .map((path) => files.get(path)!.slice(files.get(path)!.indexOf('.provide(')))
      .join('\n');
    for (const name of [...declaredActions, ...declaredGuards]) {
      assert.match(driver, new RegExp(`\\b${name}: `), `machines/${file}: ${name} is never bound to code (machine.provide)`);
    }
  });
}

test('honest machines: the scan sees a sent event and a missing one', () => {
  // the check itself can fail: an event no source sends is reported
  const sent = new Set(drivers('writer.ts').flatMap((path) => [...sentEvents(path)]));
  assert.ok(sent.has('PROGRESS'));
  assert.ok(!sent.has('NEVER_SENT'));
});
