// The client object: live properties of the session (id, address, ping...), the connect object
// and URL query arguments (client.properties, and directly as client.arg1), the main writer.
// Scripts add their own fields and RPC functions to it.
import { hex } from '../../bytes.ts';
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import { lua, lauxlib, pushBytes, pushRef, type LuaState } from '../lua/state.ts';
import { objectClass, readOnly } from '../lua/object.ts';
import type { ClientPort } from '../../core/ports.ts';
import { pushNumber } from './amf-convert.ts';
import type { HostContext } from './context.ts';
import { createWriter, pushWriter, type ClientLink, type WriterState } from './writer.ts';

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
  /** whether parametersRef is this client's own table (onConnection overloaded some keys), released with it */
  ownParameters: boolean;
  /** what onConnection returned, until a script first reads client.parameters: most never do */
  parametersOverload: AMFObject | undefined;
  readonly ctx: HostContext;
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
  const link: ClientLink = { alive: true, pending: null, writers: new Set() };
  const state: ClientState = Object.assign(link, {
    port,
    id: hex(port.rawId),
    appPath,
    path,
    writer: createWriter(ctx, link, port.writer, true),
    ref: 0,
    // built on first read: most scripts never look at the connect object, and an idle client should stay small
    propertiesRef: 0,
    parametersRef: sharedParameters(ctx, port.protocol),
    ownParameters: false,
    parametersOverload: undefined,
    ctx,
  });
  clientObjects(ctx.rt.lua.L, state);
  state.ref = ctx.rt.lua.ref();
  return state;
}

/** client.properties: the connect object and the URL query arguments, made on first read and then kept. */
function pushProperties(L1: LuaState, state: ClientState): void {
  if (state.propertiesRef === 0) {
    const port = state.port;
    state.ctx.conv.push(L1, { ...port.properties, ...parseQuery(port.query) });
    setCountingLength(L1);
    lua.lua_pushvalue(L1, -1);
    state.propertiesRef = lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX);
  } else {
    pushRef(L1, state.propertiesRef);
  }
}

/** "" when the client sent none, as both reference servers */
function text(L1: LuaState, v: AMFValue): void {
  lua.lua_pushliteral(L1, typeof v === 'string' ? v : '');
}

/** Every client object shares one metatable (see objectClass): an idle client costs its table and state. */
const clientObjects = objectClass<ClientState>({
  name: 'client',
  get(L1, state, key) {
    const port = state.port;
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
        lua.lua_pushliteral(L1, state.path);
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
        pushProperties(L1, state);
        return true;
      case 'parameters':
        pushParameters(L1, state);
        return true;
      case 'writer':
        pushWriter(L1, state.writer);
        return true;
    }
    if (key === port.protocol) {
      // MonaServer: "parameters can be substituted by protocol name" (client.RTMFP, client.WebSocket...)
      pushParameters(L1, state);
      return true;
    }
    // client.arg1: the properties (connect object and query arguments) without "properties."
    pushProperties(L1, state);
    lua.lua_getfield(L1, -1, key);
    lua.lua_remove(L1, -2);
    return true;
  },
  set(L1, _state, key, valueIdx) {
    // a method may be named like a property (function client:ping()): both servers allow it, and
    // the RPC finds it in the table; any other value for such a name is refused
    if (lua.lua_type(L1, valueIdx) === lua.LUA_TFUNCTION) return false;
    return READ_ONLY.has(key) ? readOnly(L1, key) : false;
  },
});

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

/**
 * The table onConnection returned overloads the client's parameters (MonaServer: "to overload some configuration
 * parameters: timeout"): the client gets its own copy of its protocol's section with those keys over it.
 */
export function overloadParameters(state: ClientState, values: AMFObject): void {
  // kept as it is until read: an idle client costs no table of its own (issue 18's per-session heap)
  if (Object.keys(values).length > 0) state.parametersOverload = values;
}

/** client.parameters: the protocol's shared section, or this client's own once onConnection overloaded it. */
function pushParameters(L1: LuaState, state: ClientState): void {
  const values = state.parametersOverload;
  if (values) {
    state.parametersOverload = undefined;
    const { ctx } = state;
    ctx.conv.push(L1, { ...(ctx.server.configs[state.port.protocol] ?? {}), ...parameterTexts(values) });
    setCountingLength(L1);
    state.parametersRef = lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX);
    state.ownParameters = true;
  }
  pushRef(L1, state.parametersRef);
}

/**
 * Parameters are text in MonaServer (its ParameterWriter), as the configuration values here: numbers, booleans and
 * null become their text, a date its time, and a nested object's fields become keys of their own.
 */
function parameterTexts(values: AMFObject, out: AMFObject = {}, seen = new Set<AMFObject>()): AMFObject {
  // a table may hold itself (AMF keeps shared references): each is read once
  seen.add(values);
  for (const [key, v] of Object.entries(values)) {
    if (typeof v === 'number') out[key] = String(v);
    else if (typeof v === 'boolean') out[key] = v ? 'true' : 'false';
    else if (v === null) out[key] = 'null';
    else if (v instanceof Date) out[key] = String(v.getTime());
    else if (isPlainObject(v)) {
      if (!seen.has(v)) parameterTexts(v, out, seen);
    } else if (v !== undefined) out[key] = v;
  }
  return out;
}

function isPlainObject(v: AMFValue): v is AMFObject {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
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
