// The global object, named both `cumulus` and `mona`. Its methods work called either way
// (cumulus:split(...) as documented, cumulus.split(...) as scripts often write).
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { hex } from '../../bytes.ts';
import { AMFReader } from '../../flash/amf/reader.ts';
import { AMFWriter } from '../../flash/amf/writer.ts';
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import { lua, lauxlib, pushBytes, toBytes, toDisplay, toText, where, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { pushRef } from './client.ts';
import { jsonMethods } from './json.ts';
import { addressMethods } from './addresses.ts';
import { fileMethods } from './files.ts';
import { mailMethods } from './mail.ts';
import { pushTCPClient } from './sockets/tcp-client.ts';
import { pushTCPServer } from './sockets/tcp-server.ts';
import { pushUDPSocket } from './sockets/udp-socket.ts';
import { queryMethods } from './query.ts';
import { xmlMethods } from './xml.ts';
import { xmlrpcMethods } from './xmlrpc.ts';

/** split(expression, separators, option): any character of `separators` splits (option 1: drop empty tokens, 2: trim, 3: both). */
export function split(expression: string, separators: string, option: number): string[] {
  const tokens: string[] = [];
  let current = '';
  for (const ch of expression) {
    if (separators.includes(ch)) {
      tokens.push(current);
      current = '';
    } else current += ch;
  }
  tokens.push(current);
  let out = option & 2 ? tokens.map((t) => t.trim()) : tokens;
  if (option & 1) out = out.filter((t) => t !== '');
  return out;
}

export function configsObject(configs: Record<string, Record<string, string>>): AMFObject {
  const out: AMFObject = {};
  for (const [section, entries] of Object.entries(configs)) {
    const values = configValues(entries);
    if (section === '') Object.assign(out, values);
    else out[section] = { ...(out[section] as AMFObject | undefined), ...values };
  }
  const script = process.argv[1] ?? process.execPath;
  out['application'] = {
    ...(out['application'] as AMFObject | undefined),
    path: script,
    baseName: basename(script).replace(/\.[^.]*$/, ''),
    name: basename(script),
    dir: dirname(script) + '/',
    command: process.argv.join(' '),
  };
  return out;
}

/**
 * "false" is the boolean false, as both servers read their ini (CumulusServer's readNextConfig, MonaServer's
 * PushValue), so that `if configs.x then` means what it says. Other values stay text as CumulusServer keeps them
 * (MonaServer would type numbers too; Lua turns numeric text into a number in arithmetic anyway).
 */
function configValues(entries: Record<string, string>): AMFObject {
  const out: AMFObject = {};
  for (const [key, value] of Object.entries(entries)) out[key] = value.toLowerCase() === 'false' ? false : value;
  return out;
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${hex(row).replace(/(..)/g, '$1 ').padEnd(48)} ${ascii}`);
  }
  return lines.join('\n');
}

/** `streams`: the publications collection and publish(name) (src/app/api/streams.ts), when the server has streams. */
export function pushGlobal(
  ctx: HostContext,
  clientsRef: number,
  streams?: { readonly publicationsRef: number; readonly publish: Method },
  p2p?: { readonly groupsRef: number; readonly serversRef: number; readonly joinGroup: Method },
): void {
  const { rt, conv, server } = ctx;
  const L = rt.lua.L;

  conv.push(L, configsObject(server.configs));
  // configs["RTMFP.port"] as well as configs.RTMFP.port
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushcfunction(L, (L1) => {
    const key = toText(L1, 2);
    const dot = key.indexOf('.');
    if (dot <= 0) return 0;
    lua.lua_getfield(L1, 1, key.slice(0, dot));
    if (lua.lua_type(L1, -1) !== lua.LUA_TTABLE) return 0;
    lua.lua_getfield(L1, -1, key.slice(dot + 1));
    return 1;
  });
  lua.lua_setfield(L, -2, '__index');
  lua.lua_setmetatable(L, -2);
  const configsRef = rt.lua.ref();

  const env: AMFObject = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  conv.push(L, env);
  const environmentRef = rt.lua.ref();

  const addresses = (L1: LuaState, a: number, fn: (address: string) => void): number => {
    for (let i = a; i <= lua.lua_gettop(L1); i++) fn(toDisplay(L1, i));
    return 0;
  };
  const digest =
    (algorithm: 'md5' | 'sha256'): Method =>
    (L1, a) => {
      const top = lua.lua_gettop(L1);
      for (let i = a; i <= top; i++) pushBytes(L1, createHash(algorithm).update(toBytes(L1, i)).digest());
      return Math.max(0, top - a + 1);
    };
  const encode =
    (amf0Only: boolean): Method =>
    (L1, a) => {
      const writer = new AMFWriter({ ...conv.writeOptions, amf0Only });
      for (const v of conv.range(L1, a, lua.lua_gettop(L1))) writer.write(v);
      pushBytes(L1, writer.toBytes());
      return 1;
    };

  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'clients':
          pushRef(L1, clientsRef);
          return true;
        case 'configs':
          pushRef(L1, configsRef);
          return true;
        case 'environment':
        case 'environments':
          pushRef(L1, environmentRef);
          return true;
        case 'epochTime':
          lua.lua_pushnumber(L1, Date.now());
          return true;
        case 'publicAddress':
          lua.lua_pushliteral(L1, server.publicAddress);
          return true;
        case 'groups':
          if (!p2p) return false;
          pushRef(L1, p2p.groupsRef);
          return true;
        case 'servers':
          if (!p2p) return false;
          pushRef(L1, p2p.serversRef);
          return true;
        case 'publications':
        case 'pulications': // so spelled in both servers' documentation
          if (!streams) return false;
          pushRef(L1, streams.publicationsRef);
          return true;
      }
      return false;
    },
    set(L1, key) {
      return [
        'clients',
        'configs',
        'environment',
        'environments',
        'epochTime',
        'publicAddress',
        'publications',
        'pulications',
        'groups',
        'servers',
      ].includes(key)
        ? readOnly(L1, key)
        : false;
    },
    methods: {
      ...jsonMethods(ctx),
      ...queryMethods(ctx),
      ...xmlMethods(ctx),
      ...xmlrpcMethods(ctx),
      ...addressMethods(ctx),
      ...fileMethods(ctx),
      ...mailMethods(ctx),
      createTCPClient: (L1) => (pushTCPClient(rt, L1), 1),
      createTCPServer: (L1) => (pushTCPServer(rt, L1), 1),
      createUDPSocket: (L1, a) => (pushUDPSocket(rt, L1, lua.lua_toboolean(L1, a)), 1),
      publish: (L1, a) => (streams ? streams.publish(L1, a) : 0),
      joinGroup: (L1, a) => (p2p ? p2p.joinGroup(L1, a) : 0),
      time: (L1) => {
        lua.lua_pushnumber(L1, Date.now());
        return 1;
      },
      absolutePath: (L1, a) => {
        const path = toText(L1, a).replace(/^\/+|\/+$/g, '');
        const parsed = ctx.tree.parsePath(path);
        const checked = parsed.ok ? ctx.tree.checkLinks(parsed.path) : parsed;
        // a folder not there yet is still named (MonaServer joins the path); a path that leads out is refused
        if (!checked.ok && !(checked.missing && parsed.ok)) return lauxlib.luaL_error(L1, `absolutePath: ${checked.reason}`);
        lua.lua_pushliteral(L1, join(rt.wwwDir, parsed.ok ? parsed.path : '') + '/');
        return 1;
      },
      addToBlacklist: (L1, a) => addresses(L1, a, (x) => server.blacklist.add(x)),
      removeFromBlacklist: (L1, a) => addresses(L1, a, (x) => server.blacklist.remove(x)),
      split: (L1, a) => {
        const tokens = split(toText(L1, a), toText(L1, a + 1), lauxlib.luaL_optinteger(L1, a + 2, 0));
        lauxlib.luaL_checkstack(L1, tokens.length, 'too many tokens');
        for (const t of tokens) lua.lua_pushliteral(L1, t);
        return tokens.length;
      },
      md5: digest('md5'),
      sha256: digest('sha256'),
      toAMF: encode(false),
      toAMF0: encode(true),
      fromAMF: (L1, a) => {
        const values: AMFValue[] = new AMFReader(toBytes(L1, a), conv.readOptions).readAll();
        return conv.pushAll(L1, values);
      },
      dump: (L1, a) => {
        const bytes = toBytes(L1, a);
        const size = lua.lua_type(L1, a + 1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L1, a + 1) : bytes.length;
        rt.logger.info(
          { app: rt.current?.path || '/', source: where(L1, 1) },
          `dump of ${bytes.length} bytes\n${hexDump(bytes.subarray(0, size))}`,
        );
        return 0;
      },
    },
  });
}
