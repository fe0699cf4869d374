// cumulus:createTCPServer(): start(port) listens without blocking (true when listening, false when the port
// is invalid or in use, logged at ERROR); each accepted connection is
// handed to clientHandler(client) (Cumulus) or onConnection(client) (Mona) as a TCP client object.
import { createServer, type Server } from 'node:net';
import { lua, lauxlib, type LuaState } from '../../lua/state.ts';
import { pushObject, readOnly } from '../../lua/object.ts';
import type { Runtime } from '../../runtime.ts';
import { fire, pushTCPClient, track } from './tcp-client.ts';

export function pushTCPServer(rt: Runtime, L: LuaState): void {
  const app = rt.current;
  let server: Server | null = null;
  let port = 0;
  let ref = 0;
  let untrack: (() => void) | null = null;
  const stop = (): void => {
    server?.close();
    server = null;
    untrack?.();
  };
  pushObject(L, {
    get(L1, key) {
      if (key === 'port') {
        const a = server?.address();
        lua.lua_pushinteger(L1, a && typeof a === 'object' ? a.port : port);
        return true;
      }
      if (key === 'running') {
        lua.lua_pushboolean(L1, server !== null);
        return true;
      }
      return false;
    },
    set: (L1, key) => (key === 'port' || key === 'running' ? readOnly(L1, key) : false),
    methods: {
      start: (L1, a) => {
        const wanted = lua.lua_type(L1, a) === lua.LUA_TNUMBER ? lua.lua_tonumber(L1, a) : NaN;
        if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
          rt.logger.error({ app: app?.path || '/' }, `TCP server: invalid port ${String(wanted)}`);
          lua.lua_pushboolean(L1, false);
          return 1;
        }
        // started again: on the same port it goes on, on another it moves there (both reference servers)
        if (server) {
          if (wanted === port && wanted !== 0) {
            lua.lua_pushboolean(L1, true);
            return 1;
          }
          stop();
        }
        const s = createServer((socket) => {
          fire(rt, app, ref, ['clientHandler', 'onConnection'], (L2) => (pushTCPClient(rt, L2, socket, app), 1));
        });
        s.on('error', (e) => {
          rt.logger.error({ app: app?.path || '/' }, `TCP server on port ${wanted}: ${e.message}`);
          if (server === s) stop();
        });
        server = s;
        port = wanted;
        untrack = track(rt, app, { close: stop });
        // with no host, Node binds and listens within listen() itself (only the error event waits for the next
        // tick): a port in use answers false now, as the Sockets page says, and is logged by the error handler
        s.listen(wanted);
        if (!s.listening) stop();
        lua.lua_pushboolean(L1, s.listening);
        return 1;
      },
      stop: () => {
        stop();
        return 0;
      },
    },
  });
  lua.lua_pushvalue(L, -1);
  ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
}
