// cumulus:createUDPSocket([allowBroadcast]): bind(address), connect(address), disconnect() (Mona), send(data[, address]),
// close(), onReception(data, address) (Cumulus) or onPacket(data, address) (MonaServer). Addresses are "host:port" strings or SocketAddress objects
// (anything whose tostring is host:port). Binding and sending never block.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { lua, lauxlib, pushBytes, pushText, toBytes, toDisplay, type LuaState } from '../../lua/state.ts';
import { pushObject, readOnly } from '../../lua/object.ts';
import type { Runtime } from '../../runtime.ts';
import { splitHostPort } from '../addresses.ts';
import { endpoint, fire, track } from './tcp-client.ts';

/** Datagrams a script sends on a connected socket before its connect completes (one DNS answer at most). */
const MAX_WAITING_DATAGRAMS = 64;

interface Peer {
  host: string;
  port: number;
  connected: boolean;
  waiting: Uint8Array[];
}

export function pushUDPSocket(rt: Runtime, L: LuaState, allowBroadcast: boolean): void {
  const app = rt.current;
  let socket: Socket | null = null;
  let peer: Peer | null = null;
  /** where bind() asked to listen: known before the asynchronous bind completes, when the port was given */
  let boundAt: string | null = null;
  let ref = 0;
  let untrack: (() => void) | null = null;

  const open = (host: string): Socket => {
    if (socket) return socket;
    const s = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    s.on('message', (msg, rinfo) => {
      fire(rt, app, ref, ['onReception', 'onPacket'], (L1) => {
        pushBytes(L1, msg);
        pushText(L1, endpoint(rinfo.address, rinfo.port) ?? '');
        return 2;
      });
    });
    s.on('error', (e) => rt.logger.error({ app: app?.path || '/' }, `UDP socket: ${e.message}`));
    s.on('listening', () => {
      if (allowBroadcast) s.setBroadcast(true);
    });
    socket = s;
    untrack = track(rt, app, { close: close });
    return s;
  };
  const close = (): void => {
    try {
      socket?.close();
    } catch {
      // already closed
    }
    socket = null;
    peer = null;
    boundAt = null;
    untrack?.();
  };
  const addressArg = (L1: LuaState, a: number): { host: string; port: number } | null => {
    if (lua.lua_type(L1, a) === lua.LUA_TNUMBER) return { host: '0.0.0.0', port: lua.lua_tonumber(L1, a) };
    if (lua.lua_type(L1, a + 1) === lua.LUA_TNUMBER) return splitHostPort(toDisplay(L1, a), lua.lua_tonumber(L1, a + 1));
    return splitHostPort(toDisplay(L1, a));
  };
  const local = (): string | null => {
    try {
      const a = socket?.address();
      return a ? endpoint(a.address, a.port) : boundAt;
    } catch {
      // not bound yet (dgram binds asynchronously): the address bind() was given, as the reference servers tell it
      return boundAt;
    }
  };

  pushObject(L, {
    get(L1, key) {
      const value = key === 'address' ? local() : key === 'peerAddress' ? (peer ? endpoint(peer.host, peer.port) : null) : undefined;
      if (value === undefined) return false;
      if (value === null) lua.lua_pushnil(L1);
      else pushText(L1, value);
      return true;
    },
    set: (L1, key) => (key === 'address' || key === 'peerAddress' ? readOnly(L1, key) : false),
    methods: {
      bind: (L1, a) => {
        const at = addressArg(L1, a);
        // the Sockets page (both seeds point to it): "If this method fails, it returns an error message, otherwise
        // it returns nothing" (MonaServer's code returned a boolean instead)
        if (!at) {
          pushText(L1, `invalid address ${toDisplay(L1, a)}`);
          return 1;
        }
        if (peer) {
          pushText(L1, 'a connected socket cannot be bound');
          return 1;
        }
        open(at.host).bind(at.port, at.host);
        boundAt = at.port > 0 ? endpoint(at.host, at.port) : null;
        return 0;
      },
      connect: (L1, a) => {
        const at = addressArg(L1, a);
        if (!at) {
          pushText(L1, `invalid address ${toDisplay(L1, a)}`);
          return 1;
        }
        const host = at.host === '0.0.0.0' ? '127.0.0.1' : at.host;
        if (peer) {
          pushText(L1, `already connected to ${endpoint(peer.host, peer.port) ?? ''}`);
          return 1;
        }
        // a connected socket (connect(2)): it hears its peer only, and its own address is set once connected
        const connecting = open(host);
        const target: Peer = { host, port: at.port, connected: false, waiting: [] };
        try {
          connecting.connect(at.port, host, () => {
            if (socket !== connecting) return;
            if (peer !== target) {
              connecting.disconnect(); // disconnect() came first
              return;
            }
            target.connected = true;
            for (const data of target.waiting) connecting.send(data);
            target.waiting = [];
          });
        } catch (error) {
          // still connecting after a disconnect(): Node allows one connect at a time
          pushText(L1, (error as Error).message);
          return 1;
        }
        peer = target;
        return 0;
      },
      send: (L1, a) => {
        const data = toBytes(L1, a);
        const given = lua.lua_gettop(L1) > a ? addressArg(L1, a + 1) : null;
        if (peer) {
          if (given && (given.port !== peer.port || (given.host !== peer.host && given.host !== '0.0.0.0'))) {
            pushText(L1, 'a connected socket sends to its peer only');
            return 1;
          }
          // what is sent before the connect completes waits for it (bounded: datagrams may be lost anyway)
          if (peer.connected) open(peer.host).send(data);
          else if (peer.waiting.length < MAX_WAITING_DATAGRAMS) peer.waiting.push(data);
          return 0;
        }
        if (!given) {
          pushText(L1, 'no address to send to');
          return 1;
        }
        open(given.host).send(data, given.port, given.host);
        return 0;
      },
      // MonaServer's UDP socket also disconnects (the seeds do not list it): unconnected mode again
      disconnect: () => {
        if (peer?.connected) socket?.disconnect();
        peer = null;
        return 0;
      },
      close: () => {
        close();
        return 0;
      },
    },
  });
  lua.lua_pushvalue(L, -1);
  ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
}
