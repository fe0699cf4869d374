// Writer / FlowWriter: a client's pipe, with the Cumulus names (writeAMFResult, writeAMFMessage,
// newFlowWriter) and the Mona names (writeMessage, writeInvocation, newWriter) side by side.
// After the client is gone every call is silently ignored.
import type { AMFValue } from '../../flash/amf/types.ts';
import { lua, pushRef, toBytes, toDisplay, type LuaState } from '../lua/state.ts';
import { objectClass } from '../lua/object.ts';
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
  /** registry reference of the script object, 0 until a script first sees it */
  ref: number;
  closed: boolean;
  readonly ctx: HostContext;
}

/** Status codes are completed the way Cumulus does: "Call.Failed" → "NetConnection.Call.Failed". */
export function statusCode(code: string): string {
  return /^(NetConnection|NetStream|NetGroup|SharedObject)\./.test(code) ? code : `NetConnection.${code}`;
}

function statusLevel(code: string): 'status' | 'error' {
  return /(Failed|Rejected|Error|BadName|NotFound|InvalidApp)$/.test(code) ? 'error' : 'status';
}

/** A writer's state; its script object is made on first use (`ref` 0 until then, see pushWriter). */
export function createWriter(ctx: HostContext, client: ClientLink, port: WriterPort, main: boolean): WriterState {
  return { port, client, main, ref: 0, closed: false, ctx };
}

/** Pushes the writer's script object, made on the first push: an idle client's main writer never has one. */
export function pushWriter(L: LuaState, w: WriterState): void {
  if (w.ref === 0) {
    writerObjects(w.ctx)(w.ctx.rt.lua.L, w);
    w.ref = w.ctx.rt.lua.ref();
  }
  pushRef(L, w.ref);
}

function dead(w: WriterState): boolean {
  return !w.client.alive || w.closed || w.port.closed;
}

/** The writer kind of one host: its methods convert values with the host's converter. */
const writerKinds = new WeakMap<HostContext, (L: LuaState, w: WriterState) => void>();

function writerObjects(ctx: HostContext): (L: LuaState, w: WriterState) => void {
  let push = writerKinds.get(ctx);
  if (push) return push;
  const values = (L1: LuaState, from: number): AMFValue[] => ctx.conv.range(L1, from, lua.lua_gettop(L1));
  type WriterMethod = (L: LuaState, w: WriterState, arg: number) => number;
  const result: WriterMethod = (L1, w, a) => {
    const v = values(L1, a);
    if (w.main && w.client.pending && !w.port.resultsInCallOrder) w.client.pending.push(...v);
    else if (!dead(w)) w.port.writeResult(0, v);
    return 0;
  };
  const invocation: WriterMethod = (L1, w, a) => {
    // MonaServer's default name when none is given
    const name = lua.lua_type(L1, a) <= lua.LUA_TNIL ? 'onMessage' : toDisplay(L1, a);
    const v = values(L1, a + 1);
    if (!dead(w)) w.port.writeInvocation(name, v);
    return 0;
  };
  const newWriter: WriterMethod = (L1, w) => {
    if (dead(w)) return 0;
    const created = createWriter(ctx, w.client, w.port.newWriter(), false);
    w.client.writers.add(created);
    pushWriter(L1, created);
    return 1;
  };
  push = objectClass<WriterState>({
    name: 'writer',
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
      writeStatusResponse: (L1, w, a) => {
        const code = statusCode(toDisplay(L1, a));
        const description = lua.lua_type(L1, a + 1) > lua.LUA_TNIL ? toDisplay(L1, a + 1) : '';
        if (!dead(w)) w.port.writeStatus(code, description, statusLevel(code));
        return 0;
      },
      // one write per argument, as MonaServer (on a WebSocket, one binary frame each)
      writeRaw: (L1, w, a) => {
        for (let i = a; i <= lua.lua_gettop(L1) && !dead(w); i++) {
          const t = lua.lua_type(L1, i);
          if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) w.port.writeRaw(toBytes(L1, i));
          else if (t === lua.LUA_TTABLE) {
            const v = ctx.conv.toAMF(L1, i);
            if (v instanceof Uint8Array) w.port.writeRaw(v);
          }
        }
        return 0;
      },
      flush: (L1, w, a) => {
        if (!dead(w)) w.port.flush(lua.lua_type(L1, a) <= lua.LUA_TNIL ? true : lua.lua_toboolean(L1, a));
        return 0;
      },
      newFlowWriter: newWriter,
      newWriter,
      close: (L1, w, a) => {
        if (w.closed) return 0;
        if (!w.main) {
          w.closed = true;
          w.client.writers.delete(w);
        }
        const code = lua.lua_type(L1, a) === lua.LUA_TNUMBER ? lua.lua_tonumber(L1, a) : undefined;
        if (!w.port.closed && w.client.alive) w.port.close(code);
        return 0;
      },
    },
  });
  writerKinds.set(ctx, push);
  return push;
}
