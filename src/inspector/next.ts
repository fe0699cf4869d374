// "What can happen next" for one actor: the transitions its machine would take now, for each event it can
// receive in its current state. xstate picks them (deepest state first, guards evaluated against the
// actor's live context), so a guarded move whose guard fails now, or a parent's move a child overrides,
// is not listed.
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { MachineGraph, StateGraphNode, TransitionEdge } from './graph.ts';

export interface NextMove {
  source: string;
  event: string;
  guard: string | null;
  targets: string[];
  /** the guard reads the event's data, which is unknown before the event: it may or may not pass */
  uncertain: boolean;
}

interface TransitionDefinitionLike {
  source: { id: string };
  target?: ReadonlyArray<{ id: string }>;
  eventType: string;
}

export function nextMoves(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  graph: MachineGraph,
  active: readonly string[],
): NextMove[] {
  if (snapshot.status !== 'active') return [];
  const activeSet = new Set(active);
  const candidates: TransitionEdge[] = [];
  const walk = (node: StateGraphNode): void => {
    if (node !== graph.root && !activeSet.has(node.id)) return;
    for (const t of node.transitions) if (t.eventType !== '') candidates.push(t);
    node.children.forEach(walk);
  };
  walk(graph.root);
  const byType = new Map<string, TransitionEdge[]>();
  for (const t of candidates) byType.set(t.eventType, [...(byType.get(t.eventType) ?? []), t]);
  const moves: NextMove[] = [];
  for (const [type, edges] of byType) {
    let taken: TransitionDefinitionLike[];
    try {
      taken = machine.getTransitionData(snapshot, { type });
    } catch {
      for (const t of edges) moves.push(move(t, true));
      continue;
    }
    for (const definition of taken) {
      const targets = (definition.target ?? []).map((s) => s.id);
      const edge =
        edges.find((t) => t.source === definition.source.id && sameTargets(t.targets, targets)) ??
        edges.find((t) => t.source === definition.source.id);
      if (edge) moves.push(move(edge, false));
    }
  }
  return moves;
}

function move(t: TransitionEdge, uncertain: boolean): NextMove {
  return { source: t.source, event: t.event, guard: t.guard ?? null, targets: t.targets, uncertain };
}

function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
