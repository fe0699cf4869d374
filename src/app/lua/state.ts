// One fengari state for the whole application tree (see docs/lua-differences.md): applications
// are environments inside it, so a client object or a table survives its application's reload
// and applications can read each other's globals, as MonaServer allows.
import fengari from 'fengari';
import type { LuaState, LuaJSFunction } from 'fengari';
import { getHeapStatistics } from 'node:v8';
import { utf8Decode } from '../../bytes.ts';
import { openBit } from './bit.ts';
import { openCompat51 } from './compat51.ts';

export const { lua, lauxlib, lualib } = fengari;
export type { LuaState, LuaJSFunction };

export const LUA_OK = lua.LUA_OK;

/**
 * fengari is patched on install (patches/fengari+*.patch, applied by patch-package in postinstall)
 * so that numbers behave as LuaJIT's doubles. Refuse to run scripts on an unpatched copy: they would
 * silently wrap at 32 bits.
 */
function assertPatched(): void {
  const lua51 = fengari.luaconf.NIMBUS_LUA51;
  if (!lua51) throw new Error('fengari is not patched for Lua 5.1 syntax (patches/fengari+*.patch): run npm install');
  // every state of this process: Lua 5.1 syntax ('//', '&', '|', '~', '<<', '>>' refused) and LuaJIT's '#'
  lua51.syntax = true;
  lua51.length = true;
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const code = new TextEncoder().encode('return tostring(0x7fffffff + 1)');
  const ok = lauxlib.luaL_loadbufferx(L, code, code.length, '=check', 't') === lua.LUA_OK && lua.lua_pcall(L, 0, 1, 0) === lua.LUA_OK;
  if (!ok || lua.lua_tojsstring(L, -1) !== '2147483648') {
    throw new Error('fengari is not patched for LuaJIT numbers (patches/fengari+*.patch): run npm install');
  }
}
assertPatched();
export const T = {
  NONE: lua.LUA_TNONE,
  NIL: lua.LUA_TNIL,
  BOOLEAN: lua.LUA_TBOOLEAN,
  NUMBER: lua.LUA_TNUMBER,
  STRING: lua.LUA_TSTRING,
  TABLE: lua.LUA_TTABLE,
  FUNCTION: lua.LUA_TFUNCTION,
} as const;

/** A failed protected call: the error value as text, and the traceback of where it was raised. */
export interface LuaFailure {
  ok: false;
  message: string;
  traceback: string;
}
export type LuaCallResult = { ok: true } | LuaFailure;

/** What one Lua event may take: 0 is no limit. */
export interface ScriptBudget {
  /** milliseconds of run time, "script timeout" past it */
  timeoutMs: number;
  /** bytes of JavaScript heap growth, "not enough memory" past it */
  memoryBytes: number;
}

/** JavaScript heap and the array buffers outside it (fengari's strings are Uint8Arrays). */
function heapBytes(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

interface Resume {
  lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
}

/** Instructions between two budget checks; 1 once a budget is spent, so that no pcall in the script can go on. */
const HOOK_COUNT = 1000;
/** Names pushName keeps as Lua strings (event and method names: a few dozen in practice). */
const MAX_NAMES = 512;
/** The heap is looked at every MEMORY_EVERY checks (v8.getHeapStatistics costs about 0.5 µs). */
const MEMORY_EVERY = 8;

export class LuaHost {
  readonly L: LuaState;
  private lastMessage = '';
  private readonly handlerRef: number;
  /** the running event's limits (src/app/runtime.ts sets them from [application] scriptTimeout/scriptMemory) */
  budget: ScriptBudget = { timeoutMs: 0, memoryBytes: 0 };
  private depth = 0;
  private deadline = 0;
  private heapLimit = 0;
  private checks = 0;
  private spent: string | null = null;
  /** registry references of the strings pushName keeps */
  private readonly names = new Map<string, number>();

  constructor() {
    const L = lauxlib.luaL_newstate();
    this.L = L;
    lualib.luaL_openlibs(L);
    openBit(L);
    openCompat51(L);
    // a JS exception inside a JS function called by Lua becomes an ordinary Lua error
    lua.lua_atnativeerror(L, (L1) => {
      const e = lua.lua_touserdata(L1, -1);
      lua.lua_pushstring(L1, e instanceof Error ? e.message : String(e));
      return 1;
    });
    lua.lua_pushcfunction(L, (L1) => {
      const msg = lauxlib.luaL_tolstring(L1, 1);
      this.lastMessage = utf8Decode(msg);
      lauxlib.luaL_traceback(L1, L1, msg, 1);
      return 1;
    });
    this.handlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    // set before any script runs: coroutines inherit the hook of the thread that creates them
    lua.lua_sethook(L, (L1) => this.checkBudget(L1), lua.LUA_MASKCOUNT, HOOK_COUNT);
  }

  /** The count hook: aborts the running event once its time or memory is spent, and keeps aborting it. */
  private checkBudget(L1: LuaState): void {
    if (this.depth === 0) return;
    if (this.spent === null) {
      if (this.heapLimit === -1) this.heapLimit = heapBytes() + this.budget.memoryBytes;
      if (this.deadline !== 0 && Date.now() > this.deadline) this.spent = 'script timeout';
      else if (this.heapLimit !== 0 && ++this.checks % MEMORY_EVERY === 0 && heapBytes() > this.heapLimit) {
        this.spent = 'not enough memory (scriptMemory)';
      }
      if (this.spent === null) return;
      lua.lua_sethook(L1, (L2) => this.checkBudget(L2), lua.LUA_MASKCOUNT, 1);
    }
    lauxlib.luaL_error(L1, this.spent);
  }

  /**
   * lua_pcall with a traceback handler. The function and its nargs arguments are on the stack;
   * on success nresults values replace them, on failure nothing is left.
   */
  pcall(nargs: number, nresults: number): LuaCallResult {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.handlerRef);
    lua.lua_insert(L, base);
    let status: number;
    this.enter();
    try {
      status = lua.lua_pcall(L, nargs, nresults, base);
    } finally {
      this.leave(L);
    }
    lua.lua_remove(L, base);
    if (status === LUA_OK) return { ok: true };
    const traceback = toText(L, -1);
    lua.lua_pop(L, 1);
    return { ok: false, message: this.lastMessage, traceback };
  }

  /**
   * lua_resume of a coroutine the host resumes by itself, outside any event (a DNS answer): it runs under the
   * same budget as an event, so an endless loop after the answer ends in "script timeout" too. The status is
   * lua_resume's; on an error the message is on the coroutine's stack.
   */
  resume(co: LuaState, nargs: number): number {
    this.enter();
    try {
      return (lua as unknown as Resume).lua_resume(co, null, nargs);
    } finally {
      this.leave(co);
    }
  }

  /** An event starts (the outermost one sets the budget's clock); events nest through host callbacks. */
  private enter(): void {
    if (this.depth++ === 0) {
      const { timeoutMs, memoryBytes } = this.budget;
      this.deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
      // the heap is measured from the first check on (-1: not yet): a short event never pays for it
      this.heapLimit = memoryBytes > 0 ? -1 : 0;
      this.checks = 0;
    }
  }

  /** The event ends: a spent budget is forgotten, and the threads it hooked at every instruction go back to HOOK_COUNT. */
  private leave(thread: LuaState): void {
    if (--this.depth === 0 && this.spent !== null) {
      this.spent = null;
      for (const L1 of new Set([this.L, thread])) lua.lua_sethook(L1, (L2) => this.checkBudget(L2), lua.LUA_MASKCOUNT, HOOK_COUNT);
    }
  }

  /** Keeps the value at the top of the stack alive; pops it. */
  ref(): number {
    return lauxlib.luaL_ref(this.L, lua.LUA_REGISTRYINDEX);
  }

  push(ref: number): void {
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, ref);
  }

  unref(ref: number): void {
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
  }

  /**
   * Pushes obj[name] then obj (ready for a method call) and returns true, or pushes nothing. A script's methods
   * are fields of the object's table itself: read raw, a name that is not one never reaches the object's __index
   * (for a client, the connect properties, which it would build for nothing). The name is pushName's: this runs
   * for every client method, event and manage tick.
   */
  pushMethod(ref: number, name: string): boolean {
    const L = this.L;
    this.push(ref);
    this.pushName(name);
    lua.lua_rawget(L, -2);
    if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
      lua.lua_pop(L, 2);
      return false;
    }
    lua.lua_insert(L, -2);
    return true;
  }

  /**
   * Pushes `name` (an event or method name the host looks up) as the same Lua string object every time: fengari
   * hashes a string key once per string object (a hex rendering of its bytes), so a fresh string per lookup,
   * as lua_getfield makes, pays the encoding, a copy and that hash at every event. At most MAX_NAMES names
   * are kept (method names come from the network); others are pushed fresh.
   */
  pushName(name: string): void {
    const ref = this.names.get(name);
    if (ref !== undefined) {
      lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, ref);
      return;
    }
    lua.lua_pushliteral(this.L, name);
    if (this.names.size >= MAX_NAMES) return;
    lua.lua_pushvalue(this.L, -1);
    this.names.set(name, lauxlib.luaL_ref(this.L, lua.LUA_REGISTRYINDEX));
  }
}

/** Binary-safe: the bytes as they are, copied so Lua can't see later changes. */
export function pushBytes(L: LuaState, bytes: Uint8Array): void {
  lua.lua_pushstring(L, bytes);
}

export function pushText(L: LuaState, text: string): void {
  lua.lua_pushliteral(L, text);
}

/** A copy of a Lua string's bytes (fengari hands out its internal array). */
export function toBytes(L: LuaState, idx: number): Uint8Array {
  const s = lua.lua_tolstring(L, idx);
  return s === null ? new Uint8Array(0) : s.slice();
}

/** Text of a string or number (invalid UTF-8 becomes U+FFFD); '' for anything else. */
export function toText(L: LuaState, idx: number): string {
  const s = lua.lua_tolstring(L, idx);
  return s === null ? '' : utf8Decode(s);
}

/** tostring() semantics, __tostring included. Leaves the stack as it was. */
export function toDisplay(L: LuaState, idx: number): string {
  const s = lauxlib.luaL_tolstring(L, idx);
  lua.lua_pop(L, 1);
  return utf8Decode(s);
}

/** The identity of a table (fengari returns its internal object), for WeakMap bindings. */
export function identity(L: LuaState, idx: number): object | null {
  return lua.lua_topointer(L, idx);
}

/**
 * Methods callable both as obj:method(...) and obj.method(...): the object is the closure's
 * upvalue, and a first argument equal to it is dropped. Returns the index of the first real
 * argument.
 */
export function firstArg(L: LuaState): number {
  return lua.lua_rawequal(L, 1, lua.lua_upvalueindex(1)) ? 2 : 1;
}

/** Pushes fn as a closure over the value at idx (see firstArg). */
export function pushBoundMethod(L: LuaState, idx: number, fn: LuaJSFunction): void {
  lua.lua_pushvalue(L, idx);
  lua.lua_pushcclosure(L, fn, 1);
}

/** "file.lua:12:" of the Lua function `level` calls up, or ''. */
export function where(L: LuaState, level: number): string {
  lauxlib.luaL_where(L, level);
  const at = toText(L, -1).trimEnd();
  lua.lua_pop(L, 1);
  return at.endsWith(':') ? at.slice(0, -1) : at;
}

/**
 * Pushes a registry value onto L, the thread that is running: inside a coroutine that is not the main
 * thread, and a value pushed on the main thread instead would be returned as whatever L has on top.
 */
export function pushRef(L: LuaState, ref: number): void {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
}
