// The script side of streams: one Lua object per publication and per listener, made on first use and kept
// (so that a script sees the same table, with its own fields, in every event), dropped once the
// publication's name is released or the listener closed; and the `publications` collection
// (cumulus.publications / mona.publications): count, #, pairs, ipairs, lookup by name.
import type { Listener } from '../../media/listener.ts';
import type { Publication } from '../../media/publication.ts';
import type { Publications } from '../../media/publications.ts';
import type { ClientPort } from '../ports.ts';
import { lua, toText, type LuaJSFunction, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { pushListenerObject } from './listener.ts';
import { pushPublicationObject, type MediaMethod } from './publication.ts';

/** What the Lua objects of a publication hold: its table, the objects made for it, its media methods. */
export interface PublicationEntry {
  ref: number;
  /** other registry references to drop with it (QoS objects, listeners collection, properties) */
  readonly owned: number[];
  /** media events the script set on this publication's table (publication:onAudio...) */
  readonly methods: Set<MediaMethod>;
}

interface ListenerEntry {
  ref: number;
  readonly owned: number[];
}

export class StreamObjects {
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

  pushPublication(publication: Publication): void {
    let entry = this.pubs.get(publication);
    if (!entry) {
      entry = { ref: 0, owned: [], methods: new Set() };
      pushPublicationObject(this, publication, entry);
      entry.ref = this.ctx.rt.lua.ref();
      this.pubs.set(publication, entry);
    }
    this.ctx.rt.lua.push(entry.ref);
  }

  pushListener(listener: Listener): void {
    let entry = this.subs.get(listener);
    if (!entry) {
      entry = { ref: 0, owned: [] };
      pushListenerObject(this, listener, entry.owned);
      entry.ref = this.ctx.rt.lua.ref();
      this.subs.set(listener, entry);
    }
    this.ctx.rt.lua.push(entry.ref);
  }

  /** The client object of `port`, or nil (a script listener, or a client already gone). */
  pushClient(port: ClientPort | undefined): void {
    const ref = port && this.clientRef(port);
    if (ref) this.ctx.rt.lua.push(ref);
    else lua.lua_pushnil(this.ctx.rt.lua.L);
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

/** Pushes the `publications` collection object. */
export function pushPublications(objects: StreamObjects): void {
  const publications = objects.publications;
  const L = objects.ctx.rt.lua.L;
  const lookup = (L1: LuaState, idx: number): boolean => {
    let found: Publication | undefined;
    const t = lua.lua_type(L1, idx);
    if (t === lua.LUA_TSTRING) found = publications.get(toText(L1, idx));
    else if (t === lua.LUA_TNUMBER) found = nth(publications, lua.lua_tonumber(L1, idx));
    if (!found) return false;
    objects.pushPublication(found);
    return true;
  };
  const iterate = (byIndex: boolean): LuaJSFunction => (L1) => {
    const list = [...publications];
    let i = 0;
    lua.lua_pushcfunction(L1, (L2) => {
      const publication = list[i++];
      if (!publication) return 0;
      if (byIndex) lua.lua_pushinteger(L2, i);
      else lua.lua_pushliteral(L2, publication.name);
      objects.pushPublication(publication);
      return 2;
    });
    return 1;
  };
  const pairs = iterate(false);
  const ipairs = iterate(true);
  pushObject(L, {
    get(L1, key) {
      if (key !== 'count') return false;
      lua.lua_pushinteger(L1, publications.count);
      return true;
    },
    set(L1, key) {
      return readOnly(L1, key);
    },
    index: lookup,
    methods: { pairs: (L1) => pairs(L1), ipairs: (L1) => ipairs(L1) },
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        lua.lua_pushinteger(L2, publications.count);
        return 1;
      });
      lua.lua_setfield(L1, -2, '__len');
      lua.lua_pushcfunction(L1, (L2) => (lookup(L2, 2) ? 1 : 0));
      lua.lua_setfield(L1, -2, '__call');
      lua.lua_pushcfunction(L1, pairs);
      lua.lua_setfield(L1, -2, '__pairs');
    },
  });
}

/** The i-th (1-based) element of an iteration, for ipairs over live collections. */
export function nth<T>(items: Iterable<T>, i: number): T | undefined {
  if (!Number.isInteger(i) || i < 1) return undefined;
  let n = 0;
  for (const item of items) if (++n === i) return item;
  return undefined;
}
