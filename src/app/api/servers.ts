// servers / server / broadcaster (both dialects: the seeds' "Servers", "Server", "Broadcaster") over the
// server link (src/servers/, seen through ServersPort), and the root application's onServerConnection,
// onServerDisconnection and server RPCs. One script object per linked server, shared by every application
// (MonaServer-behaviour.md §1.6): fields a script sets on it are its own, functions set on it are the RPCs the
// other server calls by name. Collections are in connection order (the seeds' "sorted by order of connections").
import { lua, identity, toText, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { HANDSHAKE_AGAIN, type PeerServerPort } from '../../core/ports.ts';
import { pushRef } from './client.ts';
import { pushCollection } from './collection.ts';
import { decodeServerArgs, encodeServerArgs } from './server-amf.ts';

type Kind = 'all' | 'initiators' | 'targets';

/** The handler names scripts may not use: '.' is the link's own (loaded applications, §1.4). */
function badHandler(name: string | null): boolean {
  return name === null || name === '.' || name === '';
}

export class LuaServers {
  /** the servers object */
  readonly ref: number;
  private readonly objects = new Map<PeerServerPort, number>();
  /** which servers a script object stands for: a server, a broadcaster, the servers object */
  private readonly standsFor = new WeakMap<object, () => readonly PeerServerPort[]>();

  constructor(private readonly ctx: HostContext) {
    const rt = ctx.rt;
    this.pushBroadcaster('initiators');
    const initiators = rt.lua.ref();
    this.pushBroadcaster('targets');
    const targets = rt.lua.ref();
    this.pushBroadcaster('all', (L1, key) => {
      if (key === 'initiators') pushRef(L1, initiators);
      else if (key === 'targets') pushRef(L1, targets);
      else return false;
      return true;
    });
    this.ref = rt.lua.ref();
  }

  private list(kind: Kind): readonly PeerServerPort[] {
    const all = this.ctx.server.servers?.all ?? [];
    if (kind === 'all') return all;
    const target = kind === 'targets';
    return all.filter((s) => s.isTarget === target);
  }

  // events --------------------------------------------------------------------------------------------

  /** Root onServerConnection(server); an error (its Lua message) rejects the link. */
  connection(peer: PeerServerPort): string | undefined {
    const app = this.ctx.tree.root;
    if (app.failure !== null) return app.failure;
    const ref = this.objectRef(peer);
    if (!app.pushEvent('onServerConnection')) return undefined;
    this.ctx.rt.lua.push(ref);
    const r = this.ctx.rt.call(app, 1, 0, 'onServerConnection', 'warn');
    return r.ok ? undefined : r.message || 'unknown error';
  }

  /** server[handler](server, ...) when the script defined it (raw field); anything else is ignored. */
  message(peer: PeerServerPort, handler: string, payload: Uint8Array): void {
    const ref = this.objects.get(peer);
    if (ref === undefined) return;
    const { rt, conv } = this.ctx;
    const L = rt.lua.L;
    const base = lua.lua_gettop(L);
    rt.lua.push(ref);
    lua.lua_pushliteral(L, handler);
    lua.lua_rawget(L, -2);
    if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
      lua.lua_settop(L, base);
      return;
    }
    lua.lua_insert(L, -2); // function, server
    const app = this.ctx.tree.root;
    let n: number;
    try {
      const previous = rt.current;
      rt.current = app;
      try {
        n = decodeServerArgs(conv, L, payload);
      } finally {
        rt.current = previous;
      }
    } catch (error) {
      lua.lua_settop(L, base);
      rt.logger.warn(
        { server: peer.address, handler },
        `server message '${handler}' dropped: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    rt.call(app, 1 + n, 0, `server:${handler}`);
    lua.lua_settop(L, base);
  }

  /** Root onServerDisconnection(server[, error]), then the object is forgotten. */
  disconnection(peer: PeerServerPort, error: string | undefined): void {
    const ref = this.objects.get(peer);
    if (ref === undefined) return;
    const app = this.ctx.tree.root;
    if (app.pushEvent('onServerDisconnection')) {
      this.ctx.rt.lua.push(ref);
      if (error === undefined) this.ctx.rt.call(app, 1, 0, 'onServerDisconnection');
      else {
        lua.lua_pushliteral(this.ctx.rt.lua.L, error);
        this.ctx.rt.call(app, 2, 0, 'onServerDisconnection');
      }
    }
    this.objects.delete(peer);
    this.ctx.rt.lua.unref(ref);
  }

  /**
   * The redirect addresses of what a script returned (values from..to on L): address strings, arrays of
   * them, server objects, broadcasters, the servers object, "again" (or "myself"); anything else is skipped.
   */
  addresses(L: LuaState, from: number, to: number): string[] {
    const out: string[] = [];
    const visit = (idx: number, depth: number): void => {
      const type = lua.lua_type(L, idx);
      if (type === lua.LUA_TSTRING) {
        const text = toText(L, idx).trim();
        // "again" as the seeds write it; MonaServer's code reads "myself" (any case) for the same
        if (text !== '') out.push(text === HANDSHAKE_AGAIN || text.toLowerCase() === 'myself' ? HANDSHAKE_AGAIN : text);
        return;
      }
      if (type !== lua.LUA_TTABLE || depth > 4) return;
      const servers = this.standsFor.get(identity(L, idx) ?? {});
      if (servers) {
        for (const s of servers()) {
          const address = s.protocolAddress('RTMFP');
          if (address) out.push(address);
          else this.ctx.rt.logger.warn({ server: s.address }, `Redirection address, server ${s.address} has RTMFP disabled`);
        }
        return;
      }
      const n = lua.lua_rawlen(L, idx);
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, idx, i);
        visit(lua.lua_gettop(L), depth + 1);
        lua.lua_pop(L, 1);
      }
    };
    for (let i = from; i <= to; i++) visit(lua.lua_absindex(L, i), 0);
    return out;
  }

  // objects -------------------------------------------------------------------------------------------

  private objectRef(peer: PeerServerPort): number {
    let ref = this.objects.get(peer);
    if (ref === undefined) {
      this.pushServer(peer);
      const key = identity(this.ctx.rt.lua.L, -1);
      if (key) this.standsFor.set(key, () => (peer.connected ? [peer] : []));
      ref = this.ctx.rt.lua.ref();
      this.objects.set(peer, ref);
    }
    return ref;
  }

  private pushServerOf(L: LuaState, peer: PeerServerPort): void {
    pushRef(L, this.objectRef(peer));
  }

  /** The peer's public host: its top-level `host` (port cut), else the link's IP. */
  private static hostOf(peer: PeerServerPort): string {
    const host = peer.configs.get('host') || peer.configs.get('publicHost') || '';
    const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
    return m ? m[1]! : peer.ip;
  }

  private pushServer(peer: PeerServerPort): void {
    const { rt, conv } = this.ctx;
    const L = rt.lua.L;
    const fixed = new Set(['address', 'publicAddress', 'host', 'port', 'isTarget', 'configs']);
    const send: Method = (L1, a) => {
      const handler = lua.lua_type(L1, a) === lua.LUA_TSTRING ? toText(L1, a) : null;
      if (badHandler(handler)) {
        rt.logger.error({ server: peer.address }, `Invalid '${handler ?? 'nil'}' handler for the sending server message`);
        return 0;
      }
      peer.send(handler!, encodeServerArgs(conv, L1, a + 1, lua.lua_gettop(L1)));
      return 0;
    };
    pushObject(L, {
      get(L1, key) {
        switch (key) {
          case 'address':
            lua.lua_pushliteral(L1, peer.address);
            return true;
          case 'publicAddress':
            lua.lua_pushliteral(L1, peer.protocolAddress('RTMFP') ?? peer.address);
            return true;
          case 'host':
            lua.lua_pushliteral(L1, LuaServers.hostOf(peer));
            return true;
          case 'port':
            lua.lua_pushinteger(L1, peer.port);
            return true;
          case 'isTarget':
            lua.lua_pushboolean(L1, peer.isTarget);
            return true;
          case 'configs':
            lua.lua_createtable(L1, 0, peer.configs.size);
            for (const [k, v] of peer.configs) {
              lua.lua_pushliteral(L1, v);
              lua.lua_setfield(L1, -2, k);
            }
            return true;
        }
        const value = peer.configs.get(key);
        if (value === undefined) return false;
        lua.lua_pushliteral(L1, value);
        return true;
      },
      set(L1, key) {
        return fixed.has(key) ? readOnly(L1, key) : false;
      },
      methods: {
        send,
        reject: (L1, a) => {
          const message = lua.lua_type(L1, a) === lua.LUA_TSTRING ? toText(L1, a) : 'unknown error';
          peer.reject(message);
          return 0;
        },
      },
    });
  }

  private pushBroadcaster(kind: Kind, get?: (L: LuaState, key: string) => boolean): void {
    const { rt, conv } = this.ctx;
    const L = rt.lua.L;
    pushCollection<PeerServerPort>(L, {
      items: () => this.list(kind),
      key: (s) => s.address,
      push: (L1, s) => this.pushServerOf(L1, s),
      find: (L1, idx) => {
        const text = toText(L1, idx);
        return this.list(kind).find(
          (s) =>
            s.address === text ||
            s.configs.get('publicHost') === text ||
            s.configs.get('host') === text ||
            s.protocolAddress('RTMFP') === text,
        );
      },
      ...(get ? { get } : {}),
      methods: {
        broadcast: (L1, a) => {
          const handler = lua.lua_type(L1, a) === lua.LUA_TSTRING ? toText(L1, a) : null;
          if (badHandler(handler)) {
            rt.logger.error({}, "handler of one sending server message can't be null or equal to '.'");
            lua.lua_pushinteger(L1, 0);
            return 1;
          }
          const servers = this.list(kind);
          if (servers.length > 0) {
            const payload = encodeServerArgs(conv, L1, a + 1, lua.lua_gettop(L1));
            for (const s of servers) s.send(handler!, payload);
          }
          lua.lua_pushinteger(L1, servers.length);
          return 1;
        },
      },
    });
    const key = identity(L, -1);
    if (key) this.standsFor.set(key, () => this.list(kind));
  }
}
