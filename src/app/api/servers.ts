// servers / server / broadcaster for a server that never links to other servers. Nimbus has no
// server-to-server protocol: what it can offer is the list of other servers given in the configuration,
// [servers] targets = host:port[?publicAddress=host:port&key=value];... , as server objects that scripts
// return from onHandshake / onRendezVousUnknown to redirect clients to them. Nothing is ever connected:
// send, broadcast and reject do nothing, initiators is empty, onServerConnection never fires.
import { lua, identity, toText, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { HANDSHAKE_AGAIN } from '../../core/ports.ts';
import { pushRef } from './client.ts';
import { pushCollection } from './collection.ts';

export interface ServerEntry {
  /** "host:port" as configured */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** where clients are redirected: the publicAddress property, else address */
  readonly publicAddress: string;
  /** the other query properties of the entry (server.configs, and as dynamic properties) */
  readonly properties: Readonly<Record<string, string>>;
}

/** Entries of `targets` in the [servers] section (any case), separated by ';', ',' or spaces. */
export function configuredServers(configs: Record<string, Record<string, string>>): ServerEntry[] {
  const section = Object.entries(configs).find(([name]) => name.toLowerCase() === 'servers')?.[1] ?? {};
  const targets = Object.entries(section).find(([key]) => key.toLowerCase() === 'targets')?.[1] ?? '';
  const out: ServerEntry[] = [];
  for (const text of targets.split(/[;,\s]+/)) {
    const [address = '', query = ''] = text.split('?', 2);
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(query)) properties[k] = v;
    out.push({
      address,
      host: match[1]!.replace(/^\[|\]$/g, ''),
      port: Number(match[2]),
      publicAddress: properties['publicAddress'] || address,
      properties,
    });
  }
  return out;
}

export class LuaServers {
  readonly entries: readonly ServerEntry[];
  /** the servers object */
  readonly ref: number;
  /** which servers a script object stands for: a server, a broadcaster, the servers object */
  private readonly standsFor = new WeakMap<object, readonly ServerEntry[]>();
  private readonly serverRefs: number[] = [];

  constructor(private readonly ctx: HostContext) {
    this.entries = configuredServers(ctx.server.configs);
    const L = ctx.rt.lua.L;
    for (const entry of this.entries) {
      this.pushServer(entry);
      this.remember(L, [entry]);
      this.serverRefs.push(ctx.rt.lua.ref());
    }
    this.pushBroadcaster([], []);
    const initiators = ctx.rt.lua.ref();
    this.pushBroadcaster(this.entries, this.serverRefs);
    const targets = ctx.rt.lua.ref();
    this.pushBroadcaster(this.entries, this.serverRefs, (L1, key) => {
      if (key === 'initiators') pushRef(L1, initiators);
      else if (key === 'targets') pushRef(L1, targets);
      else return false;
      return true;
    });
    this.ref = ctx.rt.lua.ref();
  }

  /**
   * The redirect addresses of what a script returned (values from..to on L): address strings, arrays of
   * them, server objects, broadcasters, the servers object, "again"; anything else is skipped.
   */
  addresses(L: LuaState, from: number, to: number): string[] {
    const out: string[] = [];
    const visit = (idx: number, depth: number): void => {
      const type = lua.lua_type(L, idx);
      if (type === lua.LUA_TSTRING) {
        const text = toText(L, idx).trim();
        if (text !== '') out.push(text === HANDSHAKE_AGAIN ? HANDSHAKE_AGAIN : text);
        return;
      }
      if (type !== lua.LUA_TTABLE || depth > 4) return;
      const servers = this.standsFor.get(identity(L, idx) ?? {});
      if (servers) {
        for (const s of servers) out.push(s.publicAddress);
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

  private remember(L: LuaState, servers: readonly ServerEntry[]): void {
    const key = identity(L, -1);
    if (key) this.standsFor.set(key, servers);
  }

  private pushServer(entry: ServerEntry): void {
    const { rt, conv } = this.ctx;
    const L = rt.lua.L;
    conv.push(L, { ...entry.properties });
    const configsRef = rt.lua.ref();
    const fixed = new Set(['address', 'publicAddress', 'host', 'port', 'isTarget', 'configs']);
    pushObject(L, {
      get(L1, key) {
        switch (key) {
          case 'address':
          case 'publicAddress':
          case 'host':
            lua.lua_pushliteral(L1, entry[key]);
            return true;
          case 'port':
            lua.lua_pushinteger(L1, entry.port);
            return true;
          case 'isTarget':
            lua.lua_pushboolean(L1, true);
            return true;
          case 'configs':
            pushRef(L1, configsRef);
            return true;
        }
        const value = entry.properties[key];
        if (value === undefined) return false;
        lua.lua_pushliteral(L1, value);
        return true;
      },
      set(L1, key) {
        return fixed.has(key) ? readOnly(L1, key) : false;
      },
      // never connected: there is no one to send to or to reject
      methods: { send: () => 0, reject: () => 0 },
    });
  }

  private pushBroadcaster(entries: readonly ServerEntry[], refs: readonly number[], get?: (L: LuaState, key: string) => boolean): void {
    const L = this.ctx.rt.lua.L;
    const indexes = entries.map((_, i) => i);
    pushCollection<number>(L, {
      items: () => indexes,
      key: (i) => entries[i]!.address,
      push: (L1, i) => pushRef(L1, refs[i]!),
      find: (L1, idx) => {
        const text = toText(L1, idx);
        const at = entries.findIndex((e) => e.address === text || e.publicAddress === text);
        return at < 0 ? undefined : at;
      },
      ...(get ? { get } : {}),
      methods: {
        broadcast: (L1) => {
          lua.lua_pushinteger(L1, 0);
          return 1;
        },
      },
    });
    this.remember(L, entries);
  }
}
