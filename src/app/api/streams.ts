// The application's say on streams (the StreamEvents of src/core/media/publications.ts): onPublish/onUnpublish and
// onSubscribe/onUnsubscribe go to the client's method (Mona: client:onPublish(publication)) or, when it has
// none, to its application's global (Cumulus: onPublish(client, publication)). Returning false refuses with
// the server's wording, error("msg") refuses with "msg". Media events are hooked only while a script defines
// one (global onAudioPacket/onVideoPacket/onDataPacket, or publication:onAudio/onVideo/onData), so that the
// relay of an application without them never enters Lua.
import type { Listener, Publication } from '../../core/media/publication.ts';
import type { Publications, StreamEvents, StreamVerdict } from '../../core/media/publications.ts';
import { AMFReader } from '../../flash/amf/reader.ts';
import type { AMFValue } from '../../flash/amf/types.ts';
import { WireError } from '../../errors.ts';
import { lua, pushBytes, toText, type LuaCallResult } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import { stripPosition, type RunningApplication } from '../runtime.ts';
import type { ClientPort } from '../../core/ports.ts';
import { pushNumber } from './amf-convert.ts';
import type { HostContext } from './context.ts';
import { StreamObjects, pushPublications } from './publications.ts';

/** What the stream events need of a connected client's script state. */
export interface StreamClient {
  /** registry reference of its Lua object */
  readonly ref: number;
  /** the application that accepted it ('' or '/a/b') */
  readonly appPath: string;
}

type MediaHandler = (client: ClientPort, publication: Publication, time: number, packet: Uint8Array) => void;
type DataHandler = (client: ClientPort, publication: Publication, name: string, packet: Uint8Array) => void;

const ALLOWED: StreamVerdict = { allowed: true };
const GLOBAL = { onAudio: 'onAudioPacket', onVideo: 'onVideoPacket', onData: 'onDataPacket' } as const;

export class LuaStreamEvents implements StreamEvents {
  readonly objects: StreamObjects;
  /** registry reference of the `publications` collection object */
  readonly publicationsRef: number;
  onAudio?: MediaHandler;
  onVideo?: MediaHandler;
  onData?: DataHandler;
  onFlush?: (client: ClientPort, publication: Publication) => void;
  private readonly ctx: HostContext;
  private readonly publications: Publications;
  private readonly clientOf: (port: ClientPort) => StreamClient | undefined;

  constructor(ctx: HostContext, publications: Publications, clientOf: (port: ClientPort) => StreamClient | undefined) {
    this.ctx = ctx;
    this.publications = publications;
    this.clientOf = clientOf;
    this.objects = new StreamObjects(
      ctx,
      publications,
      (port) => clientOf(port)?.ref,
      () => this.refreshHooks(),
      (publication) => this.flushed(publication),
    );
    pushPublications(this.objects);
    this.publicationsRef = ctx.rt.lua.ref();
  }

  /** cumulus:publish(name) / mona:publish(name): a script publication, nil when the name is taken. */
  readonly publish: Method = (L, a) => {
    const name = toText(L, a);
    const outcome = name === '' ? undefined : this.publications.publish(name);
    if (outcome?.ok) this.objects.pushPublication(outcome.publication);
    else lua.lua_pushnil(L);
    return 1;
  };

  onPublish(port: ClientPort, publication: Publication): StreamVerdict {
    const verdict = this.authorize(port, 'onPublish', () => this.objects.pushPublication(publication));
    // the script may have defined media events on the publication, or globally, while accepting it
    this.refreshHooks();
    if (!verdict.allowed) this.objects.scheduleSweep();
    return verdict;
  }

  onUnpublish(port: ClientPort, publication: Publication): void {
    this.notify(port, 'onUnpublish', () => this.objects.pushPublication(publication));
    this.objects.scheduleSweep();
  }

  onSubscribe(port: ClientPort, listener: Listener): StreamVerdict {
    const verdict = this.authorize(port, 'onSubscribe', () => this.objects.pushListener(listener));
    if (!verdict.allowed) this.objects.scheduleSweep();
    return verdict;
  }

  onUnsubscribe(port: ClientPort, listener: Listener): void {
    this.notify(port, 'onUnsubscribe', () => this.objects.pushListener(listener));
    this.objects.scheduleSweep();
  }

  /** Manage tick: media events defined late are noticed, objects of ended streams dropped. */
  refresh(): void {
    this.objects.sweep();
    this.refreshHooks();
  }

  /** Hooks media events into the relay exactly while some script has one to call. */
  refreshHooks(): void {
    const wanted = { onAudio: false, onVideo: false, onData: false, onFlush: false };
    for (const [, entry] of this.objects.withMethods()) {
      for (const method of entry.methods) wanted[method] = true;
    }
    const L = this.ctx.rt.lua.L;
    for (const app of this.ctx.tree.applications()) {
      if (!app.running) continue;
      for (const method of ['onAudio', 'onVideo', 'onData'] as const) {
        if (wanted[method] || !app.pushEvent(GLOBAL[method])) continue;
        lua.lua_pop(L, 1);
        wanted[method] = true;
      }
    }
    this.onAudio = wanted.onAudio ? this.audio : undefined;
    this.onVideo = wanted.onVideo ? this.video : undefined;
    this.onData = wanted.onData ? this.data : undefined;
    this.onFlush = wanted.onFlush ? this.batchFlushed : undefined;
  }

  /** A client publisher's batch was relayed: publication:onFlush, when its table has one. */
  private readonly batchFlushed = (_port: ClientPort, publication: Publication): void => this.flushed(publication);

  // media, called per message while hooked ----------------------------------------------------------------

  private readonly audio: MediaHandler = (port, publication, time, packet) => this.media(port, publication, 'onAudio', time, packet);

  private readonly video: MediaHandler = (port, publication, time, packet) => this.media(port, publication, 'onVideo', time, packet);

  private media(port: ClientPort, publication: Publication, method: 'onAudio' | 'onVideo', time: number, packet: Uint8Array): void {
    const L = this.ctx.rt.lua.L;
    const state = this.clientOf(port);
    const app = state ? this.ctx.tree.live(state.appPath) : this.ctx.tree.root;
    if (this.pushPublicationMethod(publication, method)) {
      pushNumber(L, time);
      pushBytes(L, packet);
      this.ctx.rt.call(app, 3, 0, `publication:${method}`);
    } else if (state && app.pushEvent(GLOBAL[method])) {
      this.ctx.rt.lua.push(state.ref);
      this.objects.pushPublication(publication);
      pushNumber(L, time);
      pushBytes(L, packet);
      this.ctx.rt.call(app, 4, 0, GLOBAL[method]);
    }
  }

  private readonly data: DataHandler = (port, publication, name, packet) => {
    const rt = this.ctx.rt;
    const L = rt.lua.L;
    const state = this.clientOf(port);
    const app = state ? this.ctx.tree.live(state.appPath) : this.ctx.tree.root;
    if (this.pushPublicationMethod(publication, 'onData')) {
      // Mona hands the message's values over decoded: its handler name, then its arguments
      lua.lua_pushliteral(L, name);
      const n = this.pushDecoded(app, packet);
      rt.call(app, 2 + n, 0, 'publication:onData');
    } else if (state && app.pushEvent(GLOBAL.onData)) {
      rt.lua.push(state.ref);
      this.objects.pushPublication(publication);
      lua.lua_pushliteral(L, name);
      pushBytes(L, packet);
      rt.call(app, 4, 0, GLOBAL.onData);
    }
  };

  /** publication:flush() ran on a publication whose table has onFlush. */
  private flushed(publication: Publication): void {
    if (!this.pushPublicationMethod(publication, 'onFlush')) return;
    this.ctx.rt.call(this.ctx.rt.current ?? this.ctx.tree.root, 1, 0, 'publication:onFlush');
  }

  // ---------------------------------------------------------------------------------------------------

  /** Pushes publication[method] and the publication (ready for a method call) and returns true, or nothing. */
  private pushPublicationMethod(publication: Publication, method: string): boolean {
    const entry = this.objects.entryOf(publication);
    if (!entry || !entry.methods.has(method as 'onAudio')) return false;
    const L = this.ctx.rt.lua.L;
    this.ctx.rt.lua.push(entry.ref);
    lua.lua_getfield(L, -1, method);
    if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
      lua.lua_pop(L, 2);
      return false;
    }
    lua.lua_insert(L, -2);
    return true;
  }

  private pushDecoded(app: RunningApplication, packet: Uint8Array): number {
    let values: AMFValue[];
    try {
      values = new AMFReader(packet, this.ctx.conv.readOptions).readAll();
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      pushBytes(this.ctx.rt.lua.L, packet);
      return 1;
    }
    const previous = this.ctx.rt.current;
    this.ctx.rt.current = app;
    try {
      return this.ctx.conv.pushAll(this.ctx.rt.lua.L, values);
    } finally {
      this.ctx.rt.current = previous;
    }
  }

  /**
   * client:event(subject) or event(client, subject); false or error() refuses. Nothing defined, or a client
   * the scripts do not know: allowed.
   */
  private authorize(port: ClientPort, event: 'onPublish' | 'onSubscribe', pushSubject: () => void): StreamVerdict {
    const result = this.dispatch(port, event, pushSubject, 1);
    if (!result) return ALLOWED;
    if (!result.ok) return { allowed: false, description: stripPosition(result.message) };
    const L = this.ctx.rt.lua.L;
    const refused = lua.lua_type(L, -1) === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, -1);
    lua.lua_pop(L, 1);
    return refused ? { allowed: false } : ALLOWED;
  }

  private notify(port: ClientPort, event: 'onUnpublish' | 'onUnsubscribe', pushSubject: () => void): void {
    this.dispatch(port, event, pushSubject, 0);
  }

  /** The client's method when it has one, in place of the application's global; undefined when neither exists. */
  private dispatch(port: ClientPort, event: string, pushSubject: () => void, nresults: number): LuaCallResult | undefined {
    const state = this.clientOf(port);
    if (!state) return undefined;
    const rt = this.ctx.rt;
    const app = this.ctx.tree.live(state.appPath);
    if (rt.lua.pushMethod(state.ref, event)) {
      pushSubject();
      return rt.call(app, 2, nresults, `client:${event}`, 'warn');
    }
    if (!app.pushEvent(event)) return undefined;
    rt.lua.push(state.ref);
    pushSubject();
    return rt.call(app, 2, nresults, event, 'warn');
  }
}
