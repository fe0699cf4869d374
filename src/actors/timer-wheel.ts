// One timer for many: the named delays of every actor given this clock (a server's sessions, their flows and
// writers: keepalives, retransmission ticks, close repeats) wait in one queue ordered by deadline, and only the
// earliest holds a platform timer. 10,000 idle sessions then cost 10,000 small queue entries, not 10,000 Node
// Timeout objects and their list nodes. Deadlines are exact (no slot rounding); inserting and cancelling are
// O(log n). The base clock is the time source (xstate's SimulatedClock in tests), so tests drive it as before.
import type { Clock } from '../clock.ts';

interface Entry {
  at: number;
  /** insertion order: entries due at the same time fire in the order they were set, as platform timers do */
  seq: number;
  fn: (...args: unknown[]) => void;
  /** position in the heap, -1 once fired or cancelled */
  index: number;
}

export class TimerWheel implements Clock {
  private readonly heap: Entry[] = [];
  private seq = 0;
  /** the base timer and the deadline it was set for */
  private armed: unknown;
  private armedAt = Infinity;

  constructor(private readonly base: Clock) {}

  /** entries waiting (tests, the inspector) */
  get size(): number {
    return this.heap.length;
  }

  now(): number {
    return this.base.now();
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown {
    const entry: Entry = { at: this.base.now() + Math.max(0, timeout), seq: this.seq++, fn, index: this.heap.length };
    this.heap.push(entry);
    this.up(entry.index);
    if (entry.at < this.armedAt) this.arm();
    return entry;
  }

  clearTimeout(handle: unknown): void {
    const entry = handle as Entry | undefined;
    if (!entry || entry.index < 0) return;
    this.remove(entry.index);
    // the base timer stays set for an earlier deadline: firing finds nothing due and re-arms for the next
  }

  private arm(): void {
    if (this.armed !== undefined) this.base.clearTimeout(this.armed);
    const first = this.heap[0];
    if (!first) {
      this.armed = undefined;
      this.armedAt = Infinity;
      return;
    }
    this.armedAt = first.at;
    this.armed = this.base.setTimeout(() => this.fire(), Math.max(0, first.at - this.base.now()));
  }

  private fire(): void {
    this.armed = undefined;
    this.armedAt = Infinity;
    const now = this.base.now();
    // only what was set before this pass: a callback that sets a zero delay waits for the next base timer, as
    // with platform timers, rather than looping here (entries set now are due no earlier than now: they sort
    // after every entry already due, so stopping at the first of them stops after all of those)
    const limit = this.seq;
    try {
      for (let first = this.heap[0]; first && first.at <= now && first.seq < limit; first = this.heap[0]) {
        this.remove(0);
        first.fn();
      }
    } finally {
      // a callback that throws must not leave every other delay of the server without a timer
      this.arm();
    }
  }

  private remove(index: number): void {
    const heap = this.heap;
    const entry = heap[index]!;
    entry.index = -1;
    const last = heap.pop()!;
    if (index === heap.length) return;
    heap[index] = last;
    last.index = index;
    this.up(index);
    this.down(last.index);
  }

  private before(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(index: number): void {
    const heap = this.heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent]!;
      if (!this.before(entry, above)) break;
      heap[index] = above;
      above.index = index;
      index = parent;
    }
    heap[index] = entry;
    entry.index = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const entry = heap[index]!;
    const n = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right]!, heap[left]!) ? right : left;
      const below = heap[child]!;
      if (!this.before(below, entry)) break;
      heap[index] = below;
      below.index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }
}
