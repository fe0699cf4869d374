// The client object: live properties of the session (id, address, ping...), the connect object
// and URL query arguments (client.properties, and directly as client.arg1), the main writer.
// Scripts add their own fields and RPC functions to it.
import { hex } from '../../bytes.ts';
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import { lua, lauxlib, pushBytes, pushRef, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { ClientPort } from '../../core/ports.ts';
import { pushNumber } from './amf-convert.ts';
import type { HostContext } from './context.ts';
import { createWriter, type ClientLink, type WriterState } from './writer.ts';

export interface ClientState extends ClientLink {
  readonly port: ClientPort;
  /** 64 hex chars */
  readonly id: string;
  /** path of the application that accepted it ('' or '/a/b') */
  readonly appPath: string;
  /** connection path as scripts see it ('' or '/a/b/c') */
  readonly path: string;
  readonly writer: WriterState;
  /** registry reference of the script object */
  ref: number;
  propertiesRef: number;
  parametersRef: number;
}

const READ_ONLY = new Set([
  'id',
  'rawId',
  'address',
  'flashVersion',
  'swfUrl',
  'pageUrl',
  'path',
  'ping',
  'elapsedFromReception',
  'lastReceptionTime',
  'protocol',
  'query',
  'properties',
  'parameters',
  'writer',
]);

/** URL query values as scripts get them: numbers and booleans typed, the rest as text. */
export function queryValue(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

export function parseQuery(query: string): AMFObject {
  const out: AMFObject = {};
  for (const [k, v] of new URLSearchParams(query)) out[k] = queryValue(v);
  return out;
}

export function createClient(ctx: HostContext, port: ClientPort, appPath: string, path: string): ClientState {
  const L = ctx.rt.lua.L;
  const link: ClientLink = { alive: true, pending: null, writers: new Set() };
  const writer = createWriter(ctx, link, port.writer, true);
  const props: AMFObject = { ...port.properties, ...parseQuery(port.query) };
  const parametersRef = sharedParameters(ctx, port.protocol);
  const state: ClientState = Object.assign(link, {
    port,
    id: hex(port.rawId),
    appPath,
    path,
    writer,
    ref: 0,
    // built on first read: most scripts never look at the connect object, and an idle client should stay small
    propertiesRef: 0,
    parametersRef,
  });
  const pushProperties = (L1: LuaState): void => {
    if (state.propertiesRef === 0) {
      ctx.conv.push(L1, props);
      setCountingLength(L1);
      lua.lua_pushvalue(L1, -1);
      state.propertiesRef = lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX);
    } else {
      pushRef(L1, state.propertiesRef);
    }
  };
  // "" when the client sent none, as both reference servers
  const text = (L1: LuaState, v: AMFValue): void => {
    lua.lua_pushliteral(L1, typeof v === 'string' ? v : '');
  };

  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'id':
          lua.lua_pushliteral(L1, state.id);
          return true;
        case 'rawId':
          pushBytes(L1, port.rawId);
          return true;
        case 'address':
          lua.lua_pushliteral(L1, port.address);
          return true;
        case 'flashVersion':
          text(L1, port.properties['flashVer']);
          return true;
        case 'swfUrl':
          text(L1, port.properties['swfUrl']);
          return true;
        case 'pageUrl':
          text(L1, port.properties['pageUrl']);
          return true;
        case 'path':
          lua.lua_pushliteral(L1, path);
          return true;
        case 'ping':
          pushNumber(L1, port.ping);
          return true;
        case 'lastReceptionTime':
          lua.lua_pushnumber(L1, port.lastReceptionTime);
          return true;
        case 'elapsedFromReception':
          pushNumber(L1, Math.max(0, Math.round(Date.now() - port.lastReceptionTime)));
          return true;
        case 'protocol':
          lua.lua_pushliteral(L1, port.protocol);
          return true;
        case 'query':
          lua.lua_pushliteral(L1, port.query);
          return true;
        case 'properties':
          pushProperties(L1);
          return true;
        case 'parameters':
          pushRef(L1, parametersRef);
          return true;
        case 'writer':
          pushRef(L1, writer.ref);
          return true;
      }
      // client.arg1: the properties (connect object and query arguments) without "properties."
      pushProperties(L1);
      lua.lua_getfield(L1, -1, key);
      lua.lua_remove(L1, -2);
      return true;
    },
    set(L1, key, valueIdx) {
      // a method may be named like a property (function client:ping()): both servers allow it, and
      // the RPC finds it in the table; any other value for such a name is refused
      if (lua.lua_type(L1, valueIdx) === lua.LUA_TFUNCTION) return false;
      return READ_ONLY.has(key) ? readOnly(L1, key) : false;
    },
  });
  state.ref = ctx.rt.lua.ref();
  return state;
}

export { pushRef };

/**
 * client.parameters is the configuration section of the client's protocol ([RTMFP], [RTMP]: MonaServer names
 * its sections after the protocols), the same table for every client of that protocol in a host.
 */
const parametersRefs = new WeakMap<HostContext, Map<string, number>>();

function sharedParameters(ctx: HostContext, protocol: string): number {
  let refs = parametersRefs.get(ctx);
  if (!refs) parametersRefs.set(ctx, (refs = new Map()));
  let ref = refs.get(protocol);
  if (ref === undefined) {
    const L = ctx.rt.lua.L;
    ctx.conv.push(L, ctx.server.configs[protocol] ?? {});
    setCountingLength(L);
    ref = ctx.rt.lua.ref();
    refs.set(protocol, ref);
  }
  return ref;
}

/** # on the table at the top counts its entries, as Mona's client.properties allows. */
function setCountingLength(L: LuaState): void {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushcfunction(L, (L1) => {
    let n = 0;
    lua.lua_pushnil(L1);
    while (lua.lua_next(L1, 1)) {
      n++;
      lua.lua_pop(L1, 1);
    }
    lua.lua_pushinteger(L1, n);
    return 1;
  });
  lua.lua_setfield(L, -2, '__len');
  lua.lua_setmetatable(L, -2);
}
