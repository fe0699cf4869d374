// A machine definition read as a plain graph: nested states and labelled transitions. The page, the SVG
// drawing and docs/machines.md all start from this, so any machine in machines/ is shown without special cases.
import type { AnyStateMachine } from 'xstate';

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface TransitionEdge {
  /** state id the transition is declared on, e.g. "session.open" */
  source: string;
  /** target state ids; empty when the transition only runs actions (the state does not change) */
  targets: string[];
  /** what triggers it as a reader would say it: "KEYED", "after keepAlive", "always" */
  event: string;
  /** the event type xstate sends: "KEYED", "xstate.after.keepAlive.session.open.liveness.alive", "" for always */
  eventType: string;
  /** guard name, "condition" for an inline guard, undefined when unguarded */
  guard: string | undefined;
  /** exits and re-enters its own state (restarting its timers) */
  reenter: boolean;
}

export interface StateGraphNode {
  /** dotted path from the machine id: "session.open.liveness.alive" */
  id: string;
  key: string;
  type: StateType;
  /** id of the initial child of a compound state */
  initial: string | undefined;
  children: StateGraphNode[];
  transitions: TransitionEdge[];
}

export interface MachineGraph {
  id: string;
  root: StateGraphNode;
}

// The parts of xstate's StateNode this reader uses (its own types are generic beyond what is useful here).
interface TransitionLike {
  target?: ReadonlyArray<{ id: string }>;
  guard?: unknown;
  reenter?: boolean;
  eventType: string;
  delay?: string | number;
}

interface StateNodeLike {
  id: string;
  key: string;
  type: StateType;
  initial?: { target: ReadonlyArray<{ id: string }> };
  states: Record<string, StateNodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
}

const cache = new WeakMap<object, MachineGraph>();

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const known = cache.get(machine);
  if (known) return known;
  const graph = { id: machine.id, root: readNode(machine.root) };
  cache.set(machine, graph);
  return graph;
}

function readNode(node: StateNodeLike): StateGraphNode {
  const transitions: TransitionEdge[] = [];
  for (const list of node.transitions.values()) for (const t of list) transitions.push(readTransition(node.id, t));
  for (const t of node.always ?? []) transitions.push(readTransition(node.id, t));
  const initial = node.type === 'compound' ? node.initial?.target[0]?.id : undefined;
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial,
    children: Object.values(node.states).map(readNode),
    transitions,
  };
}

function readTransition(source: string, t: TransitionLike): TransitionEdge {
  let event = t.eventType;
  if (t.delay !== undefined) event = typeof t.delay === 'number' ? `after ${t.delay} ms` : `after ${t.delay}`;
  else if (event === '') event = 'always';
  return {
    source,
    targets: (t.target ?? []).map((s) => s.id),
    event,
    eventType: t.eventType,
    guard: guardName(t.guard),
    reenter: t.reenter === true,
  };
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name && guard.name !== 'guard' ? guard.name : 'condition';
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  return 'condition';
}

/** Every state node, depth first, root included. */
export function* allStates(node: StateGraphNode): Generator<StateGraphNode> {
  yield node;
  for (const child of node.children) yield* allStates(child);
}

/**
 * Ids of the active state nodes for a snapshot value ("open" or { open: { connection: "connected", ... } }),
 * ancestors included, so a drawing can highlight the whole path.
 */
export function activeStateIds(machineId: string, value: unknown): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'string') {
      out.push(`${prefix}.${v}`);
      return;
    }
    if (v && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        out.push(`${prefix}.${key}`);
        walk(`${prefix}.${key}`, child);
      }
    }
  };
  walk(machineId, value);
  return out;
}

/**
 * A snapshot value as the tree shows it: "keying", "closing: requesting", "open: connected · alive"
 * (the top state, then the leaf of each region below it; region names add nothing for a reader).
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  return Object.entries(value)
    .map(([key, child]) => {
      const leaves: string[] = [];
      collectLeaves(child, leaves);
      return leaves.length > 0 ? `${key}: ${leaves.join(' · ')}` : key;
    })
    .join(', ');
}

function collectLeaves(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const child of Object.values(value)) collectLeaves(child, out);
}
