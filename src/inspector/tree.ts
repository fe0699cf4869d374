// The actor tree a page shows: supervisor → sessions → flows/writers, publications → listeners, groups.
// Built from the registry once per tick while a page listens; filtered and capped here so that a server
// with ten thousand sessions sends a page what it can show, plus counts per state for everything.
import type { ActorRegistry, ActorEntry } from './registry.ts';
import type { FeedFilter } from './feed.ts';

/** Numbers and short texts shown beside an actor; numbers named `*In`, `*Out`, `*Bytes*` are charted as rates. */
export type Facts = Record<string, number | string>;

export interface ActorView {
  /** searchable text: address, peer id, path, stream name */
  label: string;
  facts: Facts;
  /** a few words the tree row shows beside the state: what it carries, its kbit/s */
  brief?: string;
}

/** What the server tells the inspector about actors (src/inspector/server-host.ts). */
export interface InspectorHost {
  /** facts of the supervisor node */
  summary(): Facts;
  /** undefined when the actor is not this server's (a client in the same process, another server) */
  view(entry: ActorEntry): ActorView | undefined;
}

export interface TreeNode {
  key: string;
  name: string;
  kind: string;
  /** key of the parent node ("supervisor" for top-level actors) */
  parent: string;
  state: string;
  /** xstate status: active, done, stopped, error */
  status: string;
  /** shown only because a descendant matches the filter */
  context: boolean;
  label: string;
  facts: Facts;
  /** seconds since creation, frozen when the actor (or an actor above it) ended */
  age: number;
  brief: string;
  /** name of the ended actor above this one that ends it too (its session closed), '' when none */
  endedWith: string;
  /** children per kind, including those not listed */
  children: Record<string, number>;
  /** has children that are not listed because this node is collapsed */
  collapsed: boolean;
}

export interface TreeView {
  time: number;
  summary: Facts;
  /** actors of this server, before filtering */
  total: number;
  /** actors matching the filter (may exceed nodes.length when capped or folded) */
  matched: number;
  /** matching actors not listed because a node above them is collapsed */
  folded: number;
  /** per kind, per state: how many actors (all of this server's, unfiltered) */
  counts: Record<string, Record<string, number>>;
  nodes: TreeNode[];
}

export const SUPERVISOR = 'supervisor';

interface SnapshotLike {
  status?: string;
}

export function buildTree(
  registry: ActorRegistry,
  host: InspectorHost,
  filter: FeedFilter,
  options: {
    limit?: number;
    selected?: string;
    now?: number;
    /** keys of the nodes whose children are listed; undefined lists every child (the JSON API) */
    expanded?: ReadonlySet<string>;
  } = {},
): TreeView {
  const now = options.now ?? Date.now();
  const limit = options.limit ?? 500;
  const nodes = new Map<string, TreeNode>();
  const byName = new Map<string, TreeNode>();
  const endedAt = new Map<string, number>();
  const counts: Record<string, Record<string, number>> = {};

  for (const entry of registry.values()) {
    const view = host.view(entry);
    if (!view) continue;
    entry.label = view.label;
    const state = entry.state || '(starting)';
    if (entry.ended) endedAt.set(entry.key, entry.ended);
    const node: TreeNode = {
      key: entry.key,
      name: entry.name,
      kind: entry.kind,
      parent: SUPERVISOR,
      state,
      status: (entry.ref.getSnapshot() as SnapshotLike).status ?? 'active',
      context: false,
      label: view.label,
      facts: view.facts,
      age: Math.max(0, Math.round(((entry.ended || now) - entry.created) / 1000)),
      brief: view.brief ?? '',
      endedWith: '',
      children: {},
      collapsed: false,
    };
    nodes.set(node.key, node);
    // a name is reused after its actor ended (client reconnects): the running one wins
    const previous = byName.get(node.name);
    if (!previous || previous.status !== 'active') byName.set(node.name, node);
    const perKind = (counts[node.kind] ??= {});
    perKind[state] = (perKind[state] ?? 0) + 1;
  }
  for (const node of nodes.values()) {
    const parentName = registry.get(node.key)?.parent;
    const parent = parentName ? byName.get(parentName) : undefined;
    if (parent) {
      node.parent = parent.key;
      parent.children[node.kind] = (parent.children[node.kind] ?? 0) + 1;
    }
  }
  // an actor whose session (or publication) ended is over too, even if its own actor was never stopped
  for (const node of nodes.values()) {
    if (node.status !== 'active') continue;
    for (let at = nodes.get(node.parent), depth = 0; at && depth < 16; at = nodes.get(at.parent), depth++) {
      const ended = endedAt.get(at.key);
      if (ended === undefined) continue;
      node.endedWith = at.name;
      node.status = 'stopped';
      node.age = Math.max(0, Math.round((ended - (registry.get(node.key)?.created ?? ended)) / 1000));
      break;
    }
  }

  // collapsed nodes hide their children unless a filter asks for actors wherever they are, or one is selected
  const filtering = Boolean(filter.text || filter.state || filter.kind || filter.actor);
  const open = new Set(options.expanded ?? []);
  for (let at = options.selected ? nodes.get(options.selected) : undefined; at; at = nodes.get(at.parent)) open.add(at.parent);
  const listed = (node: TreeNode): boolean => {
    if (!options.expanded || filtering) return true;
    for (let at: TreeNode | undefined = node, depth = 0; at && depth < 16; at = nodes.get(at.parent), depth++) {
      if (at.parent !== SUPERVISOR && nodes.has(at.parent) && !open.has(at.parent)) return false;
    }
    return true;
  };
  if (options.expanded && !filtering) {
    for (const node of nodes.values()) node.collapsed = Object.keys(node.children).length > 0 && !open.has(node.key);
  }

  const shown = new Map<string, TreeNode>();
  let matched = 0;
  let folded = 0;
  for (const node of nodes.values()) {
    const selected = node.key === options.selected;
    if (!selected && !nodeMatches(node, nodes, filter)) continue;
    matched++;
    if (!selected && !listed(node)) {
      folded++;
      continue;
    }
    if (!selected && shown.size >= limit) continue;
    shown.set(node.key, node);
  }
  // ancestors give the matches their place in the tree
  for (const node of [...shown.values()]) {
    let parent = nodes.get(node.parent);
    while (parent && !shown.has(parent.key)) {
      shown.set(parent.key, { ...parent, context: true });
      parent = nodes.get(parent.parent);
    }
  }
  return { time: now, summary: host.summary(), total: nodes.size, matched, folded, counts, nodes: [...shown.values()] };
}

/** Text matches the actor or one of its ancestors (filtering by address keeps that session's flows); kind and state match the actor. */
export function nodeMatches(node: TreeNode, nodes: ReadonlyMap<string, TreeNode>, filter: FeedFilter): boolean {
  if (filter.kind && node.kind !== filter.kind) return false;
  if (filter.state && !node.state.toLowerCase().includes(filter.state.toLowerCase())) return false;
  if (filter.actor && node.key !== filter.actor && node.name !== filter.actor) return false;
  if (filter.text) {
    const text = filter.text.toLowerCase();
    let depth = 0;
    for (let at: TreeNode | undefined = node; at && depth < 16; at = nodes.get(at.parent), depth++) {
      if (at.name.toLowerCase().includes(text) || at.label.toLowerCase().includes(text)) return true;
    }
    return false;
  }
  return true;
}
