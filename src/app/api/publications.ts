// The script side of streams: one Lua object per publication and per listener, made on first use and kept
// (so that a script sees the same table, with its own fields, in every event), dropped once the
// publication's name is released or the listener closed; and the `publications` collection
// (cumulus.publications / mona.publications): count, #, pairs, ipairs, lookup by name.
import type { Listener, Publication } from '../../core/media/publication.ts';
import type { Publications } from '../../core/media/publications.ts';
import type { ClientPort } from '../../core/ports.ts';
import { lua, toText, type LuaState } from '../lua/state.ts';
import { pushCollection } from './collection.ts';
import type { HostContext } from './context.ts';
import { pushListenerObject, type ListenerObjects } from './listener.ts';
import { pushPublicationObject, type PublicationEntry, type PublicationObjects } from './publication.ts';

interface ListenerEntry {
  ref: number;
  readonly owned: number[];
}

export class StreamObjects implements PublicationObjects, ListenerObjects {
  readonly ctx: HostContext;
  readonly publications: Publications;
  private readonly pubs = new Map<Publication, PublicationEntry>();
  private readonly subs = new Map<Listener, ListenerEntry>();
  private sweepQueued = false;

  constructor(
    ctx: HostContext,
    publications: Publications,
    /** the registry reference of a connected client's Lua object */
    private readonly clientRef: (port: ClientPort) => number | undefined,
    /** a script set or removed a media event on a publication */
    readonly onMethodsChanged: () => void,
    /** publication:flush() ran: the publication's onFlush, if any */
    readonly onFlushed: (publication: Publication) => void,
  ) {
    this.ctx = ctx;
    this.publications = publications;
  }

  /** The entry of a publication that already has a Lua object, for per-message lookups. */
  entryOf(publication: Publication): PublicationEntry | undefined {
    return this.pubs.get(publication);
  }

  /** Publications whose table has media events. */
  *withMethods(): IterableIterator<[Publication, PublicationEntry]> {
    for (const pair of this.pubs) if (pair[1].methods.size > 0) yield pair;
  }

  /** Pushes the publication's object onto `L` (a coroutine's stack, or the main one), made on first use. */
  pushPublication(publication: Publication, L: LuaState = this.ctx.rt.lua.L): void {
    let entry = this.pubs.get(publication);
    if (!entry) {
      entry = { ref: 0, owned: [], methods: new Set() };
      pushPublicationObject(this, publication, entry);
      entry.ref = this.ctx.rt.lua.ref();
      this.pubs.set(publication, entry);
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, entry.ref);
  }

  pushListener(listener: Listener, L: LuaState = this.ctx.rt.lua.L): void {
    let entry = this.subs.get(listener);
    if (!entry) {
      entry = { ref: 0, owned: [] };
      pushListenerObject(this, listener, entry.owned);
      entry.ref = this.ctx.rt.lua.ref();
      this.subs.set(listener, entry);
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, entry.ref);
  }

  /** The client object of `port`, or nil (a script listener, or a client already gone). */
  pushClient(port: ClientPort | undefined, L: LuaState = this.ctx.rt.lua.L): void {
    const ref = port && this.clientRef(port);
    if (ref) lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    else lua.lua_pushnil(L);
  }

  /** Drops, once the current event is over, the objects of released publications and closed listeners. */
  scheduleSweep(): void {
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    queueMicrotask(() => {
      this.sweepQueued = false;
      this.sweep();
    });
  }

  sweep(): void {
    const lh = this.ctx.rt.lua;
    for (const [listener, entry] of this.subs) {
      if (!listener.closed) continue;
      this.subs.delete(listener);
      for (const ref of entry.owned) lh.unref(ref);
      lh.unref(entry.ref);
    }
    let dropped = false;
    for (const [publication, entry] of this.pubs) {
      if (publication.state !== 'closed') continue;
      this.pubs.delete(publication);
      for (const ref of entry.owned) lh.unref(ref);
      lh.unref(entry.ref);
      if (entry.methods.size > 0) dropped = true;
    }
    if (dropped) this.onMethodsChanged();
  }
}

/**
 * Pushes the `publications` collection object, by name or position: "the collection of publications actually
 * publishing on the server" (both seeds). A name only waited for by players, or whose onPublish is still deciding,
 * is not in it.
 */
export function pushPublications(objects: StreamObjects): void {
  const publications = objects.publications;
  pushCollection<Publication>(objects.ctx.rt.lua.L, {
    items: () => [...publications].filter((publication) => publication.running),
    key: (publication) => publication.name,
    push: (L, publication) => objects.pushPublication(publication, L),
    find: (L, idx) => {
      if (lua.lua_type(L, idx) !== lua.LUA_TSTRING) return undefined;
      const publication = publications.get(toText(L, idx));
      return publication?.running ? publication : undefined;
    },
  });
}
