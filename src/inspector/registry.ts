// Live actors of this process, learned from their inspection events on the `nimbus:actor` diagnostics
// channel (src/actors/observe.ts). With no page connected the registry only records creations and ends
// (ended actors are forgotten after a while, so memory stays bounded); events and state changes become
// feed entries only while a page listens.
import diagnostics from 'node:diagnostics_channel';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { ACTOR_CHANNEL, type ActorMessage, type ActorMeta } from '../actors/observe.ts';
import { EventFeed, type FeedEntryType } from './feed.ts';
import { stateText } from './graph.ts';

export interface ActorEntry {
  /** xstate's sessionId: unique per actor in the process (names may repeat: client and server sessions) */
  key: string;
  name: string;
  kind: string;
  /** name of the owning actor */
  parent: string | undefined;
  ref: AnyActorRef;
  created: number;
  /** time the actor reached a final state, stopped or failed; 0 while it runs */
  ended: number;
  /** last state reported to pages (kept current only while a page listens) */
  state: string;
  /** searchable text the host fills in: address, peer id, path, stream name */
  label: string;
}

export interface RegistryOptions {
  feed?: EventFeed;
  now?: () => number;
  /** how long an ended actor stays visible, ms */
  keepEnded?: number;
  /** most ended actors kept at once, whatever their age */
  maxEnded?: number;
}

interface SnapshotLike {
  status?: string;
  value?: unknown;
}

export class ActorRegistry {
  readonly feed: EventFeed;
  private readonly entries = new Map<string, ActorEntry>();
  private readonly endedQueue: Array<ActorEntry | undefined> = [];
  private endedHead = 0;
  private readonly now: () => number;
  private readonly keepEnded: number;
  private readonly maxEnded: number;
  /** the feed's listenings when states were last read from the actors */
  private statesRead = 0;

  constructor(options: RegistryOptions = {}) {
    this.feed = options.feed ?? new EventFeed();
    this.now = options.now ?? Date.now;
    this.keepEnded = options.keepEnded ?? 60_000;
    this.maxEnded = options.maxEnded ?? 2_000;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): ActorEntry | undefined {
    return this.entries.get(key);
  }

  values(): IterableIterator<ActorEntry> {
    return this.entries.values();
  }

  /** The `nimbus:actor` channel subscriber: `diagnostics.subscribe(ACTOR_CHANNEL, registry.onActorMessage)`. */
  readonly onActorMessage = (message: unknown): void => {
    const { event, meta } = message as ActorMessage;
    this.sink(event, meta);
  };

  /** Called for every inspection event of every observed actor. */
  readonly sink = (event: InspectionEvent, meta: ActorMeta): void => {
    switch (event.type) {
      case '@xstate.actor':
        this.add(event.actorRef as AnyActorRef, meta);
        return;
      case '@xstate.snapshot':
        this.onSnapshot(event.actorRef as AnyActorRef, event.snapshot, event.event.type);
        return;
      case '@xstate.event': {
        if (!this.feed.listening) return;
        const entry = this.entries.get(event.actorRef.sessionId);
        if (entry && event.event.type !== 'xstate.init') this.publish(entry, 'event', { event: event.event.type });
        return;
      }
      default:
        return;
    }
  };

  add(ref: AnyActorRef, meta: ActorMeta): ActorEntry {
    const entry: ActorEntry = {
      key: ref.sessionId,
      name: meta.name,
      kind: meta.kind,
      parent: meta.parent,
      ref,
      created: this.now(),
      ended: 0,
      state: '',
      label: '',
    };
    this.entries.set(entry.key, entry);
    if (this.feed.listening) this.publish(entry, 'created', {});
    return entry;
  }

  /** Forget ended actors older than keepEnded, or beyond maxEnded. Amortised O(1): a queue in end order. */
  sweep(): void {
    const limit = this.now() - this.keepEnded;
    while (this.endedHead < this.endedQueue.length) {
      const oldest = this.endedQueue[this.endedHead]!;
      const excess = this.endedQueue.length - this.endedHead > this.maxEnded;
      if (!excess && oldest.ended > limit) break;
      this.endedQueue[this.endedHead++] = undefined;
      this.entries.delete(oldest.key);
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.endedQueue.length) {
      this.endedQueue.splice(0, this.endedHead);
      this.endedHead = 0;
    }
  }

  /**
   * Called by the inspector before it reads states: when a first page arrives the states recorded earlier
   * are stale (nothing was tracked meanwhile), so they are read again from the actors.
   */
  refresh(): void {
    // pages may have come and gone since the last call: any new listening period makes the states stale
    if (this.feed.listening && this.feed.listenings !== this.statesRead) {
      for (const entry of this.entries.values()) entry.state = stateText((entry.ref.getSnapshot() as SnapshotLike).value);
      this.statesRead = this.feed.listenings;
    }
    this.sweep();
  }

  private onSnapshot(ref: AnyActorRef, snapshot: SnapshotLike, cause: string): void {
    const entry = this.entries.get(ref.sessionId);
    if (!entry) return;
    const listening = this.feed.listening;
    if (listening) {
      const state = stateText(snapshot.value);
      if (state !== entry.state) {
        this.publish(entry, 'state', { event: cause, state, from: entry.state });
        entry.state = state;
      }
    }
    if (snapshot.status !== 'active' && entry.ended === 0) {
      entry.ended = this.now();
      this.endedQueue.push(entry);
      if (listening) this.publish(entry, 'ended', { state: snapshot.status ?? 'stopped' });
      this.sweep();
    }
  }

  private publish(entry: ActorEntry, type: FeedEntryType, extra: { event?: string; state?: string; from?: string }): void {
    this.feed.publish({
      time: this.now(),
      type,
      actor: entry.key,
      name: entry.name,
      kind: entry.kind,
      label: entry.label,
      ...extra,
    });
  }
}

let shared: ActorRegistry | undefined;
let users = 0;

/**
 * The process-wide registry, subscribed to `nimbus:actor` (so attached to every actor created from now on)
 * while at least one inspector runs.
 */
export function acquireRegistry(): ActorRegistry {
  shared ??= new ActorRegistry();
  if (users++ === 0) diagnostics.subscribe(ACTOR_CHANNEL, shared.onActorMessage);
  return shared;
}

export function releaseRegistry(): void {
  if (users === 0 || !shared) return;
  if (--users === 0) diagnostics.unsubscribe(ACTOR_CHANNEL, shared.onActorMessage);
}
