// Writer / FlowWriter: a client's pipe, with the Cumulus names (writeAMFResult, writeAMFMessage,
// newFlowWriter) and the Mona names (writeMessage, writeInvocation, newWriter) side by side.
// After the client is gone every call is silently ignored.
import { concat } from '../../bytes.ts';
import type { AMFValue } from '../../flash/amf/types.ts';
import { lua, pushRef, toBytes, toDisplay, type LuaState } from '../lua/state.ts';
import { defineClass } from '../lua/object.ts';
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

/** The writer kind of each host: one shared metatable (src/app/lua/object.ts, defineClass). */
const writerClasses = new WeakMap<HostContext, (L: LuaState, w: WriterState) => void>();

export function createWriter(ctx: HostContext, client: ClientLink, port: WriterPort, main: boolean): WriterState {
  const L = ctx.rt.lua.L;
  const w: WriterState = { port, client, main, ref: 0, closed: false };
  let push = writerClasses.get(ctx);
  if (push === undefined) writerClasses.set(ctx, (push = defineWriter(ctx)));
  push(L, w);
  w.ref = ctx.rt.lua.ref();
  return w;
}

function dead(w: WriterState): boolean {
  return !w.client.alive || w.closed || w.port.closed;
}

function defineWriter(ctx: HostContext): (L: LuaState, w: WriterState) => void {
  const values = (L1: LuaState, from: number): AMFValue[] => ctx.conv.range(L1, from, lua.lua_gettop(L1));
  const result = (L1: LuaState, a: number, w: WriterState): number => {
    const v = values(L1, a);
    if (w.main && w.client.pending) w.client.pending.push(...v);
    else if (!dead(w)) w.port.writeResult(0, v);
    return 0;
  };
  const invocation = (L1: LuaState, a: number, w: WriterState): number => {
    const name = toDisplay(L1, a);
    const v = values(L1, a + 1);
    if (!dead(w)) w.port.writeInvocation(name, v);
    return 0;
  };
  const newWriter = (L1: LuaState, _a: number, w: WriterState): number => {
    if (dead(w)) return 0;
    const created = createWriter(ctx, w.client, w.port.newWriter(), false);
    w.client.writers.add(created);
    pushRef(L1, created.ref);
    return 1;
  };

  return defineClass<WriterState>(ctx.rt.lua.L, {
    get(L1, w, key) {
      if (key !== 'reliable') return false;
      lua.lua_pushboolean(L1, w.port.reliable);
      return true;
    },
    set(L1, w, key, v) {
      if (key !== 'reliable') return false;
      if (!dead(w)) w.port.reliable = lua.lua_toboolean(L1, v);
      return true;
    },
    methods: {
      writeAMFResult: result,
      writeMessage: result,
      writeAMFMessage: invocation,
      writeInvocation: invocation,
      writeStatusResponse: (L1, a, w) => {
        const code = statusCode(toDisplay(L1, a));
        const description = lua.lua_type(L1, a + 1) > lua.LUA_TNIL ? toDisplay(L1, a + 1) : '';
        if (!dead(w)) w.port.writeStatus(code, description, statusLevel(code));
        return 0;
      },
      writeRaw: (L1, a, w) => {
        const parts: Uint8Array[] = [];
        for (let i = a; i <= lua.lua_gettop(L1); i++) {
          const t = lua.lua_type(L1, i);
          if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) parts.push(toBytes(L1, i));
          else if (t === lua.LUA_TTABLE) {
            const v = ctx.conv.toAMF(L1, i);
            if (v instanceof Uint8Array) parts.push(v);
          }
        }
        if (!dead(w)) w.port.writeRaw(parts.length === 1 ? parts[0]! : concat(...parts));
        return 0;
      },
      flush: (L1, a, w) => {
        if (!dead(w)) w.port.flush(lua.lua_type(L1, a) <= lua.LUA_TNIL ? true : lua.lua_toboolean(L1, a));
        return 0;
      },
      newFlowWriter: newWriter,
      newWriter,
      close: (_L1, _a, w) => {
        if (w.closed) return 0;
        if (!w.main) {
          w.closed = true;
          w.client.writers.delete(w);
        }
        if (!w.port.closed && w.client.alive) w.port.close();
        return 0;
      },
    },
  });
}
