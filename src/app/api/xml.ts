// mona:fromXML([onError,] xml) / mona:toXML([onError,] table), MonaServer's Lua form of an XML
// document: an element is a table with `__name`, its attributes as string fields and its children
// (element tables and text strings) in the array part; `element.child` finds the first child
// element of that name and `element.__value` is the first child. The document table holds the
// root element at [1] and each declaration (`<?xml ...?>`) as a field named after it. An optional
// function first argument (usually `error`) is called with the message when conversion fails.
import { lua, lauxlib, pushText, toText, type LuaState } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { ConversionError } from '../../errors.ts';
import { attributesOf, childrenOf, escapeXML, orderedXMLParser, tagOf } from './xmlrpc.ts';

type XNode = Record<string, unknown>;

let parser: ReturnType<typeof orderedXMLParser> | null = null;
const MAX_NESTING = 200;

class XMLConversionError extends ConversionError {}

/** Pushes the metatable shared by the element tables of one conversion. */
function pushElementMeta(L: LuaState): void {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, (L1) => {
    if (lua.lua_type(L1, 2) !== lua.LUA_TSTRING) return 0;
    const key = toText(L1, 2);
    if (key === '__value') {
      lua.lua_rawgeti(L1, 1, 1);
      return 1;
    }
    const n = lua.lua_rawlen(L1, 1);
    for (let i = 1; i <= n; i++) {
      if (lua.lua_rawgeti(L1, 1, i) === lua.LUA_TTABLE) {
        lua.lua_pushliteral(L1, '__name');
        lua.lua_rawget(L1, -2);
        const match = lua.lua_type(L1, -1) === lua.LUA_TSTRING && toText(L1, -1) === key;
        lua.lua_pop(L1, 1);
        if (match) return 1;
      }
      lua.lua_pop(L1, 1);
    }
    return 0;
  });
  lua.lua_setfield(L, -2, '__index');
  lua.lua_pushcfunction(L, (L1) => {
    if (lua.lua_type(L1, 2) === lua.LUA_TSTRING && toText(L1, 2) === '__value') {
      lua.lua_pushvalue(L1, 3);
      lua.lua_rawseti(L1, 1, 1);
      return 0;
    }
    lua.lua_settop(L1, 3);
    lua.lua_rawset(L1, 1);
    return 0;
  });
  lua.lua_setfield(L, -2, '__newindex');
}

/** Pushes the document table of `xml`; throws XMLConversionError on malformed XML. */
export function pushXMLDocument(L: LuaState, xml: string): void {
  let nodes: XNode[];
  try {
    parser ??= orderedXMLParser(true);
    nodes = parser.parse(xml, true) as XNode[];
  } catch (e) {
    throw new XMLConversionError(`malformed XML, ${(e as Error).message}`);
  }
  lauxlib.luaL_checkstack(L, 8, 'XML too deep');
  pushElementMeta(L);
  const meta = lua.lua_gettop(L);
  lua.lua_createtable(L, 1, 1);
  let index = 0;
  for (const node of nodes) {
    const tag = tagOf(node);
    if (tag === null || tag === '#text') continue;
    if (tag.startsWith('?')) {
      lua.lua_createtable(L, 0, 2);
      for (const [k, v] of Object.entries(attributesOf(node))) {
        pushText(L, String(v));
        lua.lua_setfield(L, -2, k);
      }
      lua.lua_setfield(L, -2, tag.slice(1));
      continue;
    }
    pushElement(L, node, tag, meta, 0);
    lua.lua_rawseti(L, -2, ++index);
  }
  lua.lua_pushvalue(L, meta);
  lua.lua_setmetatable(L, -2);
  lua.lua_remove(L, meta);
}

function pushElement(L: LuaState, node: XNode, tag: string, meta: number, depth: number): void {
  if (depth > MAX_NESTING) throw new XMLConversionError('XML nested too deep');
  lauxlib.luaL_checkstack(L, 4, 'XML too deep');
  lua.lua_createtable(L, 0, 2);
  pushText(L, tag);
  lua.lua_setfield(L, -2, '__name');
  for (const [k, v] of Object.entries(attributesOf(node))) {
    pushText(L, String(v));
    lua.lua_setfield(L, -2, k);
  }
  let index = 0;
  for (const c of childrenOf(node)) {
    const t = tagOf(c);
    if (t === null || t.startsWith('?')) continue;
    if (t === '#text') {
      const text = String(c['#text']);
      if (text.trim() === '') continue;
      pushText(L, text);
    } else pushElement(L, c, t, meta, depth + 1);
    lua.lua_rawseti(L, -2, ++index);
  }
  lua.lua_pushvalue(L, meta);
  lua.lua_setmetatable(L, -2);
}

/** The XML text of the document table at idx; throws XMLConversionError. */
export function luaToXML(L: LuaState, idx: number): string {
  const t = lua.lua_absindex(L, idx);
  if (lua.lua_type(L, t) !== lua.LUA_TTABLE) throw new XMLConversionError('Just a Lua table can be converted to XML');
  let out = '';
  // declarations first: they only make sense before the root element
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t)) {
    if (lua.lua_type(L, -2) === lua.LUA_TSTRING && lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      out += `<?${toText(L, -2)} ${attributes(L, lua.lua_gettop(L), null)}?>`;
    }
    lua.lua_pop(L, 1);
  }
  const n = lua.lua_rawlen(L, t);
  let elements = 0;
  for (let i = 1; i <= n; i++) {
    if (lua.lua_rawgeti(L, t, i) === lua.LUA_TTABLE) {
      out += element(L, lua.lua_gettop(L), 0);
      elements++;
    }
    lua.lua_pop(L, 1);
  }
  if (elements === 0) throw new XMLConversionError('no XML element (a table with __name) at [1]');
  return out;
}

/** `k="v" ` for each string field with a string or number value (but `skip`). */
function attributes(L: LuaState, t: number, skip: string | null): string {
  let out = '';
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t)) {
    const vt = lua.lua_type(L, -1);
    if (lua.lua_type(L, -2) === lua.LUA_TSTRING && (vt === lua.LUA_TSTRING || vt === lua.LUA_TNUMBER)) {
      const k = toText(L, -2);
      if (k !== skip) out += `${k}="${escapeXML(toText(L, -1))}" `;
    }
    lua.lua_pop(L, 1);
  }
  return out;
}

function element(L: LuaState, t: number, depth: number): string {
  if (depth > MAX_NESTING) throw new XMLConversionError('XML nested too deep');
  lauxlib.luaL_checkstack(L, 4, 'XML too deep');
  lua.lua_pushliteral(L, '__name');
  lua.lua_rawget(L, t);
  const name = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toText(L, -1) : '';
  lua.lua_pop(L, 1);
  if (name === '') throw new XMLConversionError('Impossible to write a XML element without name (__name)');
  let out = `<${name} ${attributes(L, t, '__name')}`;
  const n = lua.lua_rawlen(L, t);
  if (n === 0) return out + '/>';
  out += '>';
  for (let i = 1; i <= n; i++) {
    const type = lua.lua_rawgeti(L, t, i);
    if (type === lua.LUA_TTABLE) out += element(L, lua.lua_gettop(L), depth + 1);
    else if (type === lua.LUA_TSTRING || type === lua.LUA_TNUMBER) out += escapeXML(toText(L, -1));
    lua.lua_pop(L, 1);
  }
  return out + `</${name}>`;
}

/** fromXML / toXML for the global object. */
export function xmlMethods(ctx: HostContext): Record<string, Method> {
  const { rt } = ctx;
  /** Runs fn; on a conversion error calls the script's handler (arg a) if any, else logs. */
  const guarded = (L: LuaState, a: number, what: string, fn: (arg: number) => number): number => {
    const handler = lua.lua_type(L, a) === lua.LUA_TFUNCTION;
    const top = lua.lua_gettop(L);
    try {
      return fn(handler ? a + 1 : a);
    } catch (e) {
      if (!(e instanceof XMLConversionError)) throw e;
      lua.lua_settop(L, top);
      if (handler) {
        lua.lua_pushvalue(L, a);
        pushText(L, e.message);
        lua.lua_call(L, 1, 0);
      } else rt.logger.warn({ app: rt.current?.path || '/', code: e.code }, `${what}: ${e.message}`);
      return 0;
    }
  };
  return {
    fromXML: (L, a) =>
      guarded(L, a, 'fromXML', (arg) => {
        pushXMLDocument(L, toText(L, arg));
        return 1;
      }),
    toXML: (L, a) =>
      guarded(L, a, 'toXML', (arg) => {
        const xml = luaToXML(L, arg);
        pushText(L, xml);
        return 1;
      }),
  };
}
