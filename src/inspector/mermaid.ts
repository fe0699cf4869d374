// A machine graph as a Mermaid stateDiagram-v2, for docs/machines.md (GitHub and most Markdown viewers draw it).
import { allStates, type MachineGraph, type StateGraphNode, type TransitionEdge } from './graph.ts';

/** Mermaid ids must be unique across the diagram, but state keys repeat ("requesting" under closing and failed). */
function mermaidId(graph: MachineGraph, stateId: string): string {
  return stateId === graph.id ? ANY_STATE : stateId.slice(graph.id.length + 1).replace(/\./g, '_');
}

/** Transitions declared on the machine itself are taken from whatever state it is in. */
const ANY_STATE = 'any_state';

export function transitionLabel(t: TransitionEdge): string {
  const guard = t.guard ? ` [${t.guard}]` : '';
  return `${t.event}${guard}${t.reenter && t.targets.includes(t.source) ? ' (restart)' : ''}`;
}

export function machineMermaid(graph: MachineGraph): string {
  const lines = ['stateDiagram-v2'];
  const id = (stateId: string): string => mermaidId(graph, stateId);

  const declare = (node: StateGraphNode, indent: string): void => {
    const name = id(node.id);
    if (name !== node.key) lines.push(`${indent}state "${node.key}" as ${name}`);
    if (node.children.length === 0) return;
    lines.push(`${indent}state ${name} {`);
    declareChildren(node, `${indent}  `);
    lines.push(`${indent}}`);
  };

  const declareChildren = (node: StateGraphNode, indent: string): void => {
    if (node.type === 'parallel') {
      node.children.forEach((region, index) => {
        if (index > 0) lines.push(`${indent}--`);
        declare(region, indent);
      });
      return;
    }
    if (node.initial) lines.push(`${indent}[*] --> ${id(node.initial)}`);
    for (const child of node.children) declare(child, indent);
  };

  declareChildren(graph.root, '  ');
  if (graph.root.transitions.some((t) => t.targets.length > 0)) {
    lines.push(`  state "any state" as ${ANY_STATE}`, '  classDef anywhere stroke-dasharray: 4 4', `  class ${ANY_STATE} anywhere`);
  }
  for (const edge of mergedEdges(graph)) lines.push(`  ${id(edge.source)} --> ${id(edge.target)}: ${edge.labels.join(', ')}`);
  for (const node of allStates(graph.root)) if (node.type === 'final') lines.push(`  ${id(node.id)} --> [*]`);
  return lines.join('\n');
}

export interface MergedEdge {
  source: string;
  target: string;
  labels: string[];
}

/** One arrow per (source, target) pair carrying every label: five parallel arrows into "closed" read badly. */
export function mergedEdges(graph: MachineGraph): MergedEdge[] {
  const edges = new Map<string, MergedEdge>();
  for (const node of allStates(graph.root)) {
    for (const t of node.transitions) {
      for (const target of t.targets) {
        const key = `${t.source}>${target}`;
        let edge = edges.get(key);
        if (!edge) edges.set(key, (edge = { source: t.source, target, labels: [] }));
        const label = transitionLabel(t);
        if (!edge.labels.includes(label)) edge.labels.push(label);
      }
    }
  }
  return [...edges.values()];
}

/** The transitions as a Markdown table: guards and actions-only events a diagram cannot show well. */
export function transitionTable(graph: MachineGraph): string {
  const rows = ['| in state | on | guard | goes to |', '|---|---|---|---|'];
  const short = (stateId: string): string => stateId.slice(graph.id.length + 1) || graph.id;
  for (const node of allStates(graph.root)) {
    for (const t of node.transitions) {
      const to = t.targets.length === 0 ? '*(stays; actions only)*' : t.targets.map(short).join(', ');
      rows.push(`| ${short(t.source)} | ${t.event} | ${t.guard ?? ''} | ${to}${t.reenter ? ' (re-entered)' : ''} |`);
    }
  }
  return rows.join('\n');
}
