// cumulus:createTCPClient(): a non-blocking TCP client on Node's event loop. connect(host, port)
// returns at once (an error message only for arguments it can't use; later failures set `error`
// and end in onDisconnection). onReception(data) (Mona: onData) returns how many bytes it left
// unconsumed: they are kept and prepended to the next reception. Every socket of an application
// closes when the application stops.
import { Socket } from 'node:net';
import { lua, lauxlib, pushBytes, pushText, toBytes, toText, type LuaState } from '../../lua/state.ts';
import { pushObject, readOnly } from '../../lua/object.ts';
import { addApplicationHooks } from '../../application.ts';
import type { Runtime, RunningApplication } from '../../runtime.ts';

/** What an application's stop closes. */
export interface Closable {
  close(): void;
}

const tracked = new WeakMap<Runtime, Map<string, Set<Closable>>>();

/** Remembers a socket of the running application, to close it when the application stops. */
export function track(rt: Runtime, app: RunningApplication | null, s: Closable): () => void {
  let byApp = tracked.get(rt);
  if (!byApp) {
    const map = new Map<string, Set<Closable>>();
    byApp = map;
    tracked.set(rt, map);
    addApplicationHooks(rt, {
      stopping(stopped) {
        const set = map.get(stopped.path);
        map.delete(stopped.path);
        for (const x of set ?? []) x.close();
      },
    });
  }
  const path = app?.path ?? '';
  const set = byApp.get(path) ?? new Set<Closable>();
  byApp.set(path, set);
  set.add(s);
  return () => set.delete(s);
}

/**
 * Calls obj:name(...) if the script defined it, as `app`'s code; `args` pushes the arguments and
 * returns their count. Returns the first result when asked (nresults 1), else undefined.
 */
export function fire(
  rt: Runtime,
  app: RunningApplication | null,
  ref: number,
  names: readonly string[],
  args: (L: LuaState) => number,
  nresults = 0,
): number | undefined {
  const L = rt.lua.L;
  const base = lua.lua_gettop(L);
  rt.lua.push(ref);
  let found = false;
  for (const name of names) {
    lua.lua_getfield(L, -1, name);
    if (lua.lua_type(L, -1) === lua.LUA_TFUNCTION) {
      found = true;
      break;
    }
    lua.lua_pop(L, 1);
  }
  if (!found || !app) {
    lua.lua_settop(L, base);
    return undefined;
  }
  lua.lua_insert(L, -2);
  const n = args(L);
  const r = rt.call(app, 1 + n, nresults, `socket:${names[0]}`);
  let result: number | undefined;
  if (r.ok && nresults > 0 && lua.lua_type(L, -1) === lua.LUA_TNUMBER) result = lua.lua_tonumber(L, -1);
  lua.lua_settop(L, base);
  return result;
}

export function endpoint(address: string | undefined, port: number | undefined): string | null {
  if (!address || port === undefined) return null;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Pushes a TCP client object over `socket` (an accepted one) or a new unconnected one. */
export function pushTCPClient(rt: Runtime, L: LuaState, accepted?: Socket, owner?: RunningApplication | null): void {
  const app = owner ?? rt.current;
  let socket: Socket | null = accepted ?? null;
  let connected = !!accepted;
  let error: string | null = null;
  let rest = new Uint8Array(0);
  let ref = 0;
  let untrack: (() => void) | null = null;

  const closed = (): void => {
    if (!socket) return;
    socket = null;
    connected = false;
    untrack?.();
    fire(rt, app, ref, ['onDisconnection'], () => 0);
  };
  const wire = (s: Socket): void => {
    s.on('connect', () => void (connected = true));
    s.on('data', (chunk: Buffer) => {
      const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      const left = fire(rt, app, ref, ['onReception', 'onData'], (L1) => (pushBytes(L1, data), 1), 1) ?? 0;
      const keep = Math.max(0, Math.min(data.length, Math.floor(left)));
      rest = keep ? Uint8Array.from(data.subarray(data.length - keep)) : new Uint8Array(0);
    });
    s.on('error', (e) => void (error = e.message));
    s.on('close', () => {
      if (socket === s) closed();
    });
  };
  const track1 = (): void => {
    untrack = track(rt, app, { close: () => socket?.destroy() });
  };

  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'connected':
          lua.lua_pushboolean(L1, connected);
          return true;
        case 'address': {
          const a = socket ? endpoint(socket.localAddress, socket.localPort) : null;
          if (a) pushText(L1, a);
          else lua.lua_pushnil(L1);
          return true;
        }
        case 'peerAddress': {
          const a = socket ? endpoint(socket.remoteAddress, socket.remotePort) : null;
          if (a) pushText(L1, a);
          else lua.lua_pushnil(L1);
          return true;
        }
        case 'error':
          if (error === null) lua.lua_pushnil(L1);
          else pushText(L1, error);
          return true;
      }
      return false;
    },
    set: (L1, key) => (['connected', 'address', 'peerAddress', 'error'].includes(key) ? readOnly(L1, key) : false),
    methods: {
      connect: (L1, a) => {
        if (socket) {
          pushText(L1, 'already connected');
          return 1;
        }
        let host = toText(L1, a);
        // connect("host:port") (Mona) leaves no second argument at all: LUA_TNONE, not nil
        let port = lua.lua_type(L1, a + 1) <= lua.LUA_TNIL ? NaN : Number(toText(L1, a + 1));
        const m = Number.isNaN(port) ? /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(host) : null;
        if (m) {
          host = m[1] ?? m[2]!;
          port = Number(m[3]);
        }
        if (host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
          error = `invalid address ${host}:${String(port)}`;
          pushText(L1, error);
          return 1;
        }
        error = null;
        rest = new Uint8Array(0);
        const s = new Socket();
        socket = s;
        connected = true; // writes are queued until the connection is up; a failure ends it
        wire(s);
        track1();
        s.connect(port, host);
        return 0;
      },
      // nothing, or an error message, as MonaServer's (the seeds give send no result)
      send: (L1, a) => {
        if (!socket || socket.destroyed) {
          pushText(L1, 'not connected');
          return 1;
        }
        socket.write(toBytes(L1, a));
        return 0;
      },
      disconnect: () => {
        socket?.destroy();
        return 0;
      },
    },
  });
  lua.lua_pushvalue(L, -1);
  ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  if (accepted) {
    wire(accepted);
    track1();
  }
}
