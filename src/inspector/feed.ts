// The event feed between actors and inspector pages. It exists only while a page listens: entries go into
// one bounded ring (history for pages that reconnect or select an actor) and into each page's bounded
// queue. A page that cannot keep up loses entries, counted, instead of making the server wait or grow.

export type FeedEntryType = 'created' | 'event' | 'state' | 'ended';

export interface FeedEntry {
  /** increasing number, unique per feed: pages ask for what follows the last one they saw */
  seq: number;
  /** ms since the epoch */
  time: number;
  type: FeedEntryType;
  /** unique actor key (xstate sessionId) */
  actor: string;
  /** stable actor name, e.g. "session:3" */
  name: string;
  kind: string;
  /** searchable text about the actor: address, peer id, path, stream name */
  label: string;
  /** event type for 'event', the triggering event for 'state' */
  event?: string;
  /** new state for 'state', final status for 'ended' */
  state?: string;
  /** previous state for 'state' */
  from?: string;
}

export type FeedInput = Omit<FeedEntry, 'seq'>;

/** What a page wants to see; every given field must match. */
export interface FeedFilter {
  kind?: string;
  /** one actor, by key or name */
  actor?: string;
  /** case-insensitive substring of name or label (peer id, address, path, stream name) */
  text?: string;
  /** case-insensitive substring of the state an entry reports */
  state?: string;
  /** false hides timer ticks: events named xstate.after.* (a timer that moves the actor still shows as a state change) */
  timers?: boolean;
  /** only entries of these types */
  types?: FeedEntryType[];
}

/** How xstate names a delayed transition's event. */
export const isTimerEvent = (event: string | undefined): boolean => event !== undefined && event.startsWith('xstate.after.');

export function matchesFilter(entry: FeedEntry, filter: FeedFilter): boolean {
  if (filter.kind && entry.kind !== filter.kind) return false;
  if (filter.actor && entry.actor !== filter.actor && entry.name !== filter.actor) return false;
  if (filter.text) {
    const text = filter.text.toLowerCase();
    if (!entry.name.toLowerCase().includes(text) && !entry.label.toLowerCase().includes(text)) return false;
  }
  if (filter.state && !(entry.state ?? '').toLowerCase().includes(filter.state.toLowerCase())) return false;
  if (filter.timers === false && entry.type === 'event' && isTimerEvent(entry.event)) return false;
  if (filter.types && !filter.types.includes(entry.type)) return false;
  return true;
}

/** One connected page: its filter and what waits to be sent to it. */
export class FeedSubscriber {
  filter: FeedFilter;
  /** entries lost because the queue was full, since the last take() */
  dropped = 0;
  /** entries lost over the subscriber's life */
  droppedTotal = 0;
  private queue: FeedEntry[] = [];
  private readonly maxQueued: number;

  constructor(filter: FeedFilter = {}, maxQueued = 1000) {
    this.filter = filter;
    this.maxQueued = maxQueued;
  }

  get queued(): number {
    return this.queue.length;
  }

  offer(entry: FeedEntry): void {
    if (!matchesFilter(entry, this.filter)) return;
    if (this.queue.length >= this.maxQueued) {
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    this.queue.push(entry);
  }

  /** Everything queued, and how many were dropped since the last call. */
  take(): { entries: FeedEntry[]; dropped: number } {
    const entries = this.queue;
    const dropped = this.dropped;
    this.queue = [];
    this.dropped = 0;
    return { entries, dropped };
  }
}

export interface Replay {
  entries: FeedEntry[];
  /** entries that followed `since` but have left the ring: the page must say it missed them */
  missed: number;
}

export class EventFeed {
  readonly capacity: number;
  private readonly ring: Array<FeedEntry | undefined>;
  private nextSeq = 1;
  private readonly subscribers = new Set<FeedSubscriber>();
  private listenCount = 0;

  constructor(capacity = 4096) {
    this.capacity = capacity;
    this.ring = new Array<FeedEntry | undefined>(capacity);
  }

  /** True while at least one page is connected: the only time actors' events are turned into entries. */
  get listening(): boolean {
    return this.subscribers.size > 0;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Sequence number of the oldest entry still in the ring. */
  get oldestSeq(): number {
    return Math.max(1, this.nextSeq - this.capacity);
  }

  /** Grows each time listening starts (first page after none): what was recorded before may be stale. */
  get listenings(): number {
    return this.listenCount;
  }

  subscribe(subscriber: FeedSubscriber): () => void {
    if (this.subscribers.size === 0) this.listenCount++;
    this.subscribers.add(subscriber);
    return () => void this.subscribers.delete(subscriber);
  }

  publish(input: FeedInput): FeedEntry {
    const entry = input as FeedEntry;
    entry.seq = this.nextSeq++;
    this.ring[entry.seq % this.capacity] = entry;
    for (const subscriber of this.subscribers) subscriber.offer(entry);
    return entry;
  }

  /**
   * What a page missed: entries after `since` that match, oldest first. `since` beyond the last entry
   * (the server restarted) is treated as 0. At most `limit` entries, the most recent ones.
   */
  since(since: number, filter: FeedFilter, limit = this.capacity): Replay {
    if (since > this.lastSeq) since = 0;
    const oldest = this.oldestSeq;
    const missed = since + 1 < oldest && since > 0 ? oldest - since - 1 : 0;
    const entries: FeedEntry[] = [];
    for (let seq = this.lastSeq; seq >= Math.max(oldest, since + 1) && entries.length < limit; seq--) {
      const entry = this.ring[seq % this.capacity];
      if (entry && entry.seq === seq && matchesFilter(entry, filter)) entries.push(entry);
    }
    entries.reverse();
    return { entries, missed };
  }
}
