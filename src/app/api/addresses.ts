// IPAddress and SocketAddress objects (mona:createIPAddress[WithDNS], createSocketAddress[WithDNS]).
// Without DNS only literals are accepted. With DNS, a name is resolved without blocking the
// server: inside a coroutine the calling coroutine is suspended until the answer arrives; from
// an ordinary handler the call takes a callback as last argument, and a name with neither fails.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { lua, lauxlib, pushText, toText, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';

/** The coroutine calls fengari has and fengari.d.ts does not declare. */
interface Coroutines {
  lua_isyieldable(L: LuaState): boolean;
  lua_yield(L: LuaState, n: number): number;
  lua_pushthread(L: LuaState): boolean;
  readonly LUA_YIELD: number;
}
const co = lua as unknown as Coroutines;

/** A parsed IP address: canonical text and its 4 or 16 bytes. */
export class IPAddress {
  readonly bytes: Uint8Array;
  constructor(readonly value: string) {
    this.bytes = toBytes(value);
  }
  get isIPv6(): boolean {
    return this.bytes.length === 16;
  }
  static parse(text: string): IPAddress | null {
    let t = text.trim();
    if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
    return isIP(t) ? new IPAddress(t.toLowerCase()) : null;
  }
  /** The IPv4 address an IPv6 ::ffff:a.b.c.d maps, else this. */
  private v4(): Uint8Array | null {
    return this.bytes.length === 4 ? this.bytes : null;
  }
  private zeros(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.bytes[i] !== 0) return false;
    return true;
  }
  get isWildcard(): boolean {
    return this.zeros(0, this.bytes.length);
  }
  get isBroadcast(): boolean {
    const b = this.v4();
    return !!b && b.every((x) => x === 255);
  }
  get isAnyBroadcast(): boolean {
    // the limited broadcast, or a directed broadcast of one of this host's networks
    if (this.isBroadcast) return true;
    const b = this.v4();
    if (!b) return false;
    for (const list of Object.values(networkInterfaces())) {
      for (const nif of list ?? []) {
        if (nif.family !== 'IPv4') continue;
        const ip = toBytes(nif.address);
        const mask = toBytes(nif.netmask);
        if (mask.every((m) => m === 255)) continue;
        if (b.every((x, i) => x === ((ip[i]! & mask[i]!) | (~mask[i]! & 0xff)))) return true;
      }
    }
    return false;
  }
  get isLoopback(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 127 : this.zeros(0, 15) && b[15] === 1;
  }
  get isMulticast(): boolean {
    const b = this.bytes;
    return b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff;
  }
  get isUnicast(): boolean {
    return !this.isWildcard && !this.isBroadcast && !this.isMulticast;
  }
  get isLinkLocal(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
  }
  get isSiteLocal(): boolean {
    const b = this.bytes;
    if (b.length === 4) return b[0] === 10 || (b[0] === 192 && b[1] === 168) || (b[0] === 172 && b[1]! >= 16 && b[1]! <= 31);
    return b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0;
  }
  get isIPv4Compatible(): boolean {
    return this.bytes.length === 4 || this.zeros(0, 12);
  }
  get isIPv4Mapped(): boolean {
    return this.bytes.length === 4 || (this.zeros(0, 10) && this.bytes[10] === 0xff && this.bytes[11] === 0xff);
  }
  get isWellKnownMC(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 224 : b[0] === 0xff && (b[1]! & 0xf0) === 0;
  }
  get isNodeLocalMC(): boolean {
    const b = this.bytes;
    return b.length === 16 && b[0] === 0xff && (b[1]! & 0x0f) === 0x01;
  }
  get isLinkLocalMC(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1]! & 0x0f) === 0x02;
  }
  get isSiteLocalMC(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 239 && b[1] === 255 : b[0] === 0xff && (b[1]! & 0x0f) === 0x05;
  }
  get isOrgLocalMC(): boolean {
    const b = this.bytes;
    return b.length === 4 ? b[0] === 239 && b[1] === 192 : b[0] === 0xff && (b[1]! & 0x0f) === 0x08;
  }
  get isGlobalMC(): boolean {
    const b = this.bytes;
    if (b.length === 4) return b[0]! >= 224 && b[0]! <= 238 && !(b[0] === 224 && b[1] === 0 && b[2] === 0);
    // the seed's FFxF range (as Poco, which MonaServer uses), not RFC 4291's scope E
    return b[0] === 0xff && (b[1]! & 0x0f) === 0x0f;
  }
  /** Loopback, wildcard, or assigned to one of this host's interfaces. */
  get isLocal(): boolean {
    if (this.isLoopback || this.isWildcard) return true;
    for (const list of Object.values(networkInterfaces())) {
      for (const nif of list ?? []) if (nif.address.toLowerCase() === this.value) return true;
    }
    return false;
  }
}

function toBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  const out = new Uint8Array(16);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    const h = ((b[0]! << 8) | b[1]!).toString(16) + ':' + ((b[2]! << 8) | b[3]!).toString(16);
    text = text.slice(0, -v4[1]!.length) + h;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const n = parseInt(g || '0', 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

const IP_PROPERTIES = [
  'isWildcard',
  'isBroadcast',
  'isAnyBroadcast',
  'isLoopback',
  'isMulticast',
  'isUnicast',
  'isLinkLocal',
  'isSiteLocal',
  'isIPv4Compatible',
  'isIPv4Mapped',
  'isWellKnownMC',
  'isNodeLocalMC',
  'isLinkLocalMC',
  'isSiteLocalMC',
  'isOrgLocalMC',
  'isGlobalMC',
  'isLocal',
  'isIPv6',
] as const;

/** Which JS address a Lua address object stands for (tables are keyed by identity). */
const ipOf = new WeakMap<object, IPAddress>();
const socketOf = new WeakMap<object, { host: IPAddress; port: number }>();

export function pushIPAddress(L: LuaState, ip: IPAddress): void {
  pushObject(L, {
    get(L1, key) {
      if (key === 'value') {
        pushText(L1, ip.value);
        return true;
      }
      if ((IP_PROPERTIES as readonly string[]).includes(key)) {
        lua.lua_pushboolean(L1, ip[key as (typeof IP_PROPERTIES)[number]]);
        return true;
      }
      return false;
    },
    set: (L1, key) => (key === 'value' || (IP_PROPERTIES as readonly string[]).includes(key) ? readOnly(L1, key) : false),
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        pushText(L2, ip.value);
        return 1;
      });
      lua.lua_setfield(L1, -2, '__tostring');
    },
  });
  ipOf.set(lua.lua_topointer(L, -1)!, ip);
}

export function socketAddressText(host: IPAddress, port: number): string {
  return host.isIPv6 ? `[${host.value}]:${port}` : `${host.value}:${port}`;
}

export function pushSocketAddress(L: LuaState, host: IPAddress, port: number): void {
  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'host':
          pushIPAddress(L1, host);
          return true;
        case 'port':
          lua.lua_pushinteger(L1, port);
          return true;
        case 'isIPv6':
          lua.lua_pushboolean(L1, host.isIPv6);
          return true;
        case 'value':
          pushText(L1, socketAddressText(host, port));
          return true;
      }
      return false;
    },
    set: (L1, key) => (['host', 'port', 'isIPv6', 'value'].includes(key) ? readOnly(L1, key) : false),
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        pushText(L2, socketAddressText(host, port));
        return 1;
      });
      lua.lua_setfield(L1, -2, '__tostring');
    },
  });
  socketOf.set(lua.lua_topointer(L, -1)!, { host, port });
}

/** "host:port", "[v6]:port", or a host with the port given apart. */
export function splitHostPort(text: string, port?: string | number): { host: string; port: number } | null {
  let host = text.trim();
  let p: string | number | undefined = port;
  if (p === undefined) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(host) ?? /^([^:]*):(\d+)$/.exec(host);
    if (!m) return null;
    host = m[1]!;
    p = m[2]!;
  }
  const n = typeof p === 'number' ? p : /^\d+$/.test(p.trim()) ? Number(p) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) return null;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: n };
}

/** Host text of an IPAddress/SocketAddress object or a string argument, or null. */
function hostArg(L: LuaState, idx: number): { ip?: IPAddress; text?: string } | null {
  if (lua.lua_type(L, idx) === lua.LUA_TTABLE) {
    const id = lua.lua_topointer(L, idx)!;
    const ip = ipOf.get(id) ?? socketOf.get(id)?.host;
    return ip ? { ip } : null;
  }
  if (lua.lua_type(L, idx) === lua.LUA_TSTRING) return { text: toText(L, idx) };
  return null;
}

const WILDCARD = new IPAddress('0.0.0.0');

/** Resolves a host name (never blocks); literals answer at once. */
export function resolveHost(name: string, done: (ip: IPAddress | null, error?: string) => void): void {
  const literal = IPAddress.parse(name);
  if (literal) return done(literal);
  lookup(name, (err, address) => (err ? done(null, `${name}: ${err.code ?? err.message}`) : done(IPAddress.parse(address))));
}

export function addressMethods(ctx: HostContext): Record<string, Method> {
  const { rt } = ctx;
  const L0 = rt.lua.L;

  /**
   * A DNS answer for a script: a callback argument gets (address) or (nil, error); a coroutine is
   * suspended and resumed with the same values.
   */
  const later = (L: LuaState, callbackIdx: number, name: string, build: (ip: IPAddress) => (L2: LuaState) => void): number => {
    const app = rt.current;
    const deliver = (target: LuaState, ip: IPAddress | null, error?: string): number => {
      if (ip) build(ip)(target);
      else lua.lua_pushnil(target);
      if (error === undefined) return 1;
      pushText(target, error);
      return 2;
    };
    if (callbackIdx > 0) {
      lua.lua_pushvalue(L, callbackIdx);
      const ref = rt.lua.ref();
      resolveHost(name, (ip, error) => {
        rt.lua.push(ref);
        rt.lua.unref(ref);
        const n = deliver(L0, ip, error);
        if (app) rt.call(app, n, 0, 'DNS callback');
      });
      return 0;
    }
    if (!co.lua_isyieldable(L)) {
      return lauxlib.luaL_error(L, `DNS lookup of '${name}' would block: call it inside a coroutine or give a callback as last argument`);
    }
    co.lua_pushthread(L);
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX); // keeps the coroutine alive
    resolveHost(name, (ip, error) => {
      const n = deliver(L, ip, error);
      const previous = rt.current;
      rt.current = app;
      try {
        // under the event budget ([application] scriptTimeout/scriptMemory) like any event
        const status = rt.lua.resume(L, n);
        if (status !== lua.LUA_OK && status !== co.LUA_YIELD) {
          rt.logger.error({ app: app?.path || '/', event: 'DNS resume' }, toText(L, -1));
        }
      } finally {
        rt.current = previous;
        rt.lua.unref(ref);
      }
    });
    return co.lua_yield(L, 0);
  };

  const fail = (L: LuaState, handler: boolean, a: number, message: string): number => {
    if (handler) {
      lua.lua_pushvalue(L, a);
      pushText(L, message);
      lua.lua_call(L, 1, 0);
    } else rt.logger.warn({ app: rt.current?.path || '/' }, message);
    return 0;
  };

  const ipFactory =
    (withDNS: boolean): Method =>
    (L, a0) => {
      const handler = lua.lua_type(L, a0) === lua.LUA_TFUNCTION && lua.lua_gettop(L) > a0;
      const a = handler ? a0 + 1 : a0;
      if (lua.lua_gettop(L) < a) {
        pushIPAddress(L, WILDCARD);
        return 1;
      }
      const arg = hostArg(L, a);
      if (!arg) return fail(L, handler, a0, 'No valid IPAddress available to read');
      if (arg.ip) {
        pushIPAddress(L, arg.ip);
        return 1;
      }
      const literal = IPAddress.parse(arg.text!);
      if (literal) {
        pushIPAddress(L, literal);
        return 1;
      }
      if (!withDNS) return fail(L, handler, a0, `Invalid IPAddress ${arg.text}`);
      const cb = lua.lua_type(L, a + 1) === lua.LUA_TFUNCTION ? a + 1 : 0;
      return later(L, cb, arg.text!, (ip) => (L2) => pushIPAddress(L2, ip));
    };

  const socketFactory =
    (withDNS: boolean): Method =>
    (L, a0) => {
      const handler = lua.lua_type(L, a0) === lua.LUA_TFUNCTION && lua.lua_gettop(L) > a0;
      const a = handler ? a0 + 1 : a0;
      if (lua.lua_gettop(L) < a) {
        pushSocketAddress(L, WILDCARD, 0);
        return 1;
      }
      if (lua.lua_type(L, a) === lua.LUA_TNUMBER) {
        pushSocketAddress(L, WILDCARD, lua.lua_tonumber(L, a) & 0xffff);
        return 1;
      }
      const arg = hostArg(L, a);
      if (!arg) return fail(L, handler, a0, 'No valid SocketAddress available to read');
      const portType = lua.lua_type(L, a + 1);
      const port = portType === lua.LUA_TNUMBER ? lua.lua_tonumber(L, a + 1) : portType === lua.LUA_TSTRING ? toText(L, a + 1) : undefined;
      if (arg.ip) {
        const socket = lua.lua_type(L, a) === lua.LUA_TTABLE ? socketOf.get(lua.lua_topointer(L, a)!) : undefined;
        pushSocketAddress(L, arg.ip, port === undefined ? (socket?.port ?? 0) : Number(port) & 0xffff);
        return 1;
      }
      const parts = splitHostPort(arg.text!, port);
      if (!parts) return fail(L, handler, a0, `Invalid SocketAddress ${arg.text}`);
      const literal = IPAddress.parse(parts.host);
      if (literal) {
        pushSocketAddress(L, literal, parts.port);
        return 1;
      }
      if (!withDNS) return fail(L, handler, a0, `Invalid SocketAddress ${arg.text} (no DNS resolution)`);
      const cbIdx = port === undefined ? a + 1 : a + 2;
      const cb = lua.lua_type(L, cbIdx) === lua.LUA_TFUNCTION ? cbIdx : 0;
      return later(L, cb, parts.host, (ip) => (L2) => pushSocketAddress(L2, ip, parts.port));
    };

  return {
    createIPAddress: ipFactory(false),
    createIPAddressWithDNS: ipFactory(true),
    createSocketAddress: socketFactory(false),
    createSocketAddressWithDNS: socketFactory(true),
  };
}
