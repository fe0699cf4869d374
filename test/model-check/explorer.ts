// A small explicit-state explorer: breadth-first over every state a system can reach, then the graph checks a
// model check needs. Generic: the system gives its initial state, a canonical key per state and its moves; the
// explorer knows nothing of RTMFP (the protocol composition is test/model-check/rtmfp-model.ts).

export interface Move<S> {
  /** what happened, for counter-examples ("a: deliver DATA 2", "b: after closeTimeout") */
  label: string;
  next: S;
}

export interface System<S> {
  initial: S;
  key(state: S): string;
  moves(state: S): Array<Move<S>>;
  /** a state where the system may rightly stop (everything ended); a stop anywhere else is a deadlock */
  done(state: S): boolean;
  /** safety properties: a message for each one the state breaks */
  check?(state: S): string[];
}

export interface Exploration<S> {
  states: number;
  transitions: number;
  /** states with no move leaving them (self-loops aside) */
  terminal: number;
  ms: number;
  /** broken safety properties, each with the shortest path from the initial state */
  violations: Array<{ message: string; trace: string[] }>;
  /** states with no way on that are not done */
  deadlocks: Array<{ trace: string[] }>;
  /** states from which no done state can be reached any more (a livelock or a trap) */
  traps: Array<{ trace: string[] }>;
  /** every state reached, by index, for further graph checks */
  graph: Graph<S>;
}

export interface Graph<S> {
  states: S[];
  /** successors by index (self-loops left out) */
  edges: Array<Array<{ to: number; label: string }>>;
  trace(index: number): string[];
}

export interface ExploreOptions {
  /** stop with an error past this many states: a model that grew beyond CI time is a bug of the model */
  maxStates?: number;
  /** how many counter-examples of each kind to keep */
  keep?: number;
}

export function explore<S>(system: System<S>, options: ExploreOptions = {}): Exploration<S> {
  const maxStates = options.maxStates ?? 2_000_000;
  const keep = options.keep ?? 3;
  const started = performance.now();
  const index = new Map<string, number>();
  const states: S[] = [];
  const parent: Array<{ from: number; label: string } | undefined> = [];
  const edges: Array<Array<{ to: number; label: string }>> = [];
  const violations: Array<{ message: string; trace: string[] }> = [];
  const deadlocks: Array<{ trace: string[] }> = [];
  let transitions = 0;
  let terminal = 0;

  const trace = (at: number): string[] => {
    const steps: string[] = [];
    for (let i = at; parent[i] !== undefined; i = parent[i]!.from) steps.push(parent[i]!.label);
    return steps.reverse();
  };
  const add = (state: S, from: { from: number; label: string } | undefined): number => {
    const k = system.key(state);
    const known = index.get(k);
    if (known !== undefined) return known;
    if (states.length >= maxStates) throw new Error(`model grew past ${maxStates} states (${Math.round(performance.now() - started)} ms)`);
    const at = states.length;
    index.set(k, at);
    states.push(state);
    parent.push(from);
    for (const message of system.check?.(state) ?? []) {
      if (violations.length < keep) violations.push({ message, trace: trace(at) });
      else if (violations.length === keep) violations.push({ message: '…and more', trace: [] });
    }
    return at;
  };

  add(system.initial, undefined);
  for (let at = 0; at < states.length; at++) {
    const out: Array<{ to: number; label: string }> = [];
    for (const move of system.moves(states[at]!)) {
      const to = add(move.next, { from: at, label: move.label });
      transitions++;
      if (to !== at && !out.some((e) => e.to === to)) out.push({ to, label: move.label });
    }
    edges.push(out);
    if (out.length === 0) {
      terminal++;
      if (!system.done(states[at]!) && deadlocks.length < keep) deadlocks.push({ trace: trace(at) });
    }
  }

  // backward reachability from the done states: whatever cannot reach one is a trap
  const reverse: number[][] = states.map(() => []);
  edges.forEach((out, from) => out.forEach(({ to }) => reverse[to]!.push(from)));
  const canFinish = new Uint8Array(states.length);
  const stack: number[] = [];
  states.forEach((state, i) => {
    if (system.done(state)) {
      canFinish[i] = 1;
      stack.push(i);
    }
  });
  while (stack.length > 0) {
    for (const from of reverse[stack.pop()!]!) {
      if (canFinish[from]) continue;
      canFinish[from] = 1;
      stack.push(from);
    }
  }
  const traps: Array<{ trace: string[] }> = [];
  for (let i = 0; i < states.length && traps.length < keep; i++) if (!canFinish[i]) traps.push({ trace: trace(i) });

  return {
    states: states.length,
    transitions,
    terminal,
    ms: performance.now() - started,
    violations,
    deadlocks,
    traps,
    graph: { states, edges, trace },
  };
}

/**
 * Strongly connected components of the states satisfying `inside` (Tarjan, iterative), as lists of indexes;
 * single states without a self-loop are left out (no cycle stays in them).
 */
export function cycles<S>(graph: Graph<S>, inside: (state: S) => boolean): number[][] {
  const n = graph.states.length;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1 || !inside(graph.states[root]!)) continue;
    const work: Array<{ v: number; i: number }> = [{ v: root, i: 0 }];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const next = graph.edges[frame.v]!;
      if (frame.i < next.length) {
        const w = next[frame.i++]!.to;
        if (!inside(graph.states[w]!)) continue;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push({ v: w, i: 0 });
        } else if (onStack[w]) {
          low[frame.v] = Math.min(low[frame.v]!, order[w]!);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) low[work[work.length - 1]!.v] = Math.min(low[work[work.length - 1]!.v]!, low[frame.v]!);
      if (low[frame.v] === order[frame.v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== frame.v);
        if (component.length > 1) out.push(component);
      }
    }
  }
  return out;
}
