// Writer / FlowWriter: a client's pipe, with the Cumulus names (writeAMFResult, writeAMFMessage,
// newFlowWriter) and the Mona names (writeMessage, writeInvocation, newWriter) side by side.
// After the client is gone every call is silently ignored.
import { concat } from '../../bytes.ts';
import type { AMFValue } from '../../flash/amf/types.ts';
import { lua, pushRef, toBytes, toDisplay, type LuaState } from '../lua/state.ts';
import { pushObject, type Method } from '../lua/object.ts';
import type { WriterPort } from '../../core/ports.ts';
import type { HostContext } from './context.ts';

export interface ClientLink {
  alive: boolean;
  /** results collected while one of this client's RPC functions runs (writeMessage / writeAMFResult) */
  pending: AMFValue[] | null;
  readonly writers: Set<WriterState>;
}

export interface WriterState {
  readonly port: WriterPort;
  readonly client: ClientLink;
  readonly main: boolean;
  /** registry reference of the script object */
  ref: number;
  closed: boolean;
}

/** Status codes are completed the way Cumulus does: "Call.Failed" → "NetConnection.Call.Failed". */
export function statusCode(code: string): string {
  return /^(NetConnection|NetStream|NetGroup|SharedObject)\./.test(code) ? code : `NetConnection.${code}`;
}

function statusLevel(code: string): 'status' | 'error' {
  return /(Failed|Rejected|Error|BadName|NotFound|InvalidApp)$/.test(code) ? 'error' : 'status';
}

export function createWriter(ctx: HostContext, client: ClientLink, port: WriterPort, main: boolean): WriterState {
  const L = ctx.rt.lua.L;
  const w: WriterState = { port, client, main, ref: 0, closed: false };
  const dead = (): boolean => !client.alive || w.closed || port.closed;
  const values = (L1: LuaState, from: number): AMFValue[] => ctx.conv.range(L1, from, lua.lua_gettop(L1));

  const result: Method = (L1, a) => {
    const v = values(L1, a);
    if (main && client.pending) client.pending.push(...v);
    else if (!dead()) port.writeResult(0, v);
    return 0;
  };
  const invocation: Method = (L1, a) => {
    const name = toDisplay(L1, a);
    const v = values(L1, a + 1);
    if (!dead()) port.writeInvocation(name, v);
    return 0;
  };
  const newWriter: Method = (L1) => {
    if (dead()) return 0;
    const created = createWriter(ctx, client, port.newWriter(), false);
    client.writers.add(created);
    pushRef(L1, created.ref);
    return 1;
  };

  pushObject(L, {
    get(L1, key) {
      if (key !== 'reliable') return false;
      lua.lua_pushboolean(L1, port.reliable);
      return true;
    },
    set(L1, key, v) {
      if (key !== 'reliable') return false;
      if (!dead()) port.reliable = lua.lua_toboolean(L1, v);
      return true;
    },
    methods: {
      writeAMFResult: result,
      writeMessage: result,
      writeAMFMessage: invocation,
      writeInvocation: invocation,
      writeStatusResponse: (L1, a) => {
        const code = statusCode(toDisplay(L1, a));
        const description = lua.lua_type(L1, a + 1) > lua.LUA_TNIL ? toDisplay(L1, a + 1) : '';
        if (!dead()) port.writeStatus(code, description, statusLevel(code));
        return 0;
      },
      writeRaw: (L1, a) => {
        const parts: Uint8Array[] = [];
        for (let i = a; i <= lua.lua_gettop(L1); i++) {
          const t = lua.lua_type(L1, i);
          if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) parts.push(toBytes(L1, i));
          else if (t === lua.LUA_TTABLE) {
            const v = ctx.conv.toAMF(L1, i);
            if (v instanceof Uint8Array) parts.push(v);
          }
        }
        if (!dead()) port.writeRaw(parts.length === 1 ? parts[0]! : concat(...parts));
        return 0;
      },
      flush: (L1, a) => {
        if (!dead()) port.flush(lua.lua_type(L1, a) <= lua.LUA_TNIL ? true : lua.lua_toboolean(L1, a));
        return 0;
      },
      newFlowWriter: newWriter,
      newWriter,
      close: () => {
        if (w.closed) return 0;
        if (!main) {
          w.closed = true;
          client.writers.delete(w);
        }
        if (!port.closed && client.alive) port.close();
        return 0;
      },
    },
  });
  w.ref = ctx.rt.lua.ref();
  return w;
}
