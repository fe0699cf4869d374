// The ApplicationPort the server calls: connection lifecycle, RPC, handshake and the 2-second
// manage tick, dispatched to the application serving each client. A script error never escapes:
// it is logged with its traceback, and turns into a rejection or a Call.Failed where the
// protocol has an answer for it.
import { dirname, join } from 'node:path';
import { MixedArray, TypedObject, isAMFObject, type AMFObject, type AMFValue } from '../flash/amf/types.ts';
import type { AMFReadOptions } from '../flash/amf/reader.ts';
import type { AMFWriteOptions } from '../flash/amf/writer.ts';
import fengari from 'fengari';
import { lua, lauxlib, pushBytes } from './lua/state.ts';
import { fromHex } from '../bytes.ts';
import { Runtime, stripPosition, type AppLogger, type RunningApplication } from './runtime.ts';
import { ApplicationTree } from './tree.ts';
import { clip } from '../log.ts';
import type { Application } from './application.ts';
import { AMFConverter } from './api/amf-convert.ts';
import { createClient, overloadParameters, queryValue, type ClientState } from './api/client.ts';
import { pushClients } from './api/clients.ts';
import { pushGlobal } from './api/global.ts';
import { installLogFunctions } from './api/logs.ts';
import { installSandbox } from './api/io.ts';
import { attachPersistentData, type PersistentData } from './api/data.ts';
import { attachChildrenLoader } from './api/children.ts';
import { LuaStreamEvents } from './api/streams.ts';
import { LuaGroups } from './api/group.ts';
import { joinGroupMethod, pushGroups } from './api/groups.ts';
import { LuaServers } from './api/servers.ts';
import { Publications } from '../core/media/publications.ts';
import type { HostContext } from './api/context.ts';
import type {
  ApplicationPort,
  CallOutcome,
  ClientPort,
  ConnectionVerdict,
  GroupPort,
  HandshakeRedirect,
  PathCheck,
  PeerServerPort,
  ProtocolName,
  ReadOutcome,
  ServerPort,
} from '../core/ports.ts';

export interface HostOptions {
  wwwDir: string;
  logger: AppLogger;
  server: ServerPort;
  /** the server's live streams: the host becomes their StreamEvents (a private registry when absent) */
  publications?: Publications;
  /** SQLite file of the `data` global (default: data/data.sqlite beside wwwDir; ':memory:' keeps nothing) */
  dataFile?: string;
  /** os.execute, io.popen, package.loadlib and os.exit allowed to scripts ([application] unsafe) */
  unsafe?: boolean;
  /** milliseconds one Lua event may run before "script timeout" aborts it (default 2000; 0: no limit) */
  scriptTimeout?: number;
  /** bytes of heap growth a Lua event may cause before "not enough memory" aborts it (default 512 MB; 0: no limit) */
  scriptMemory?: number;
}

const CALL_FAILED = 'NetConnection.Call.Failed';
/** how long onHandshake reuses a path's checked application (a rebuilt main.lua is seen after this) */
const HANDSHAKE_CACHE_MS = 1_000;
const HANDSHAKE_CACHE_SIZE = 1024;

export function createApplicationHost(options: HostOptions): ApplicationPort {
  return new LuaApplicationHost(options);
}

export class LuaApplicationHost implements ApplicationPort {
  readonly rt: Runtime;
  readonly tree: ApplicationTree;
  private readonly conv: AMFConverter;
  /** accepted clients by id, in connection order */
  private readonly clients = new Map<string, ClientState>();
  private readonly byPort = new Map<ClientPort, ClientState>();
  private readonly ctx: HostContext;
  /** onPublish/onSubscribe... and the publication/listener objects */
  readonly streams: LuaStreamEvents;

  private readonly data: PersistentData;
  /** group objects, and the linked servers (src/servers/ through ServerPort.servers) */
  private readonly groups: LuaGroups;
  private readonly servers: LuaServers;
  /** debug.getinfo(f, 'u').nparams of a function: which onRendezVousUnknown signature a script wrote */
  private paramsRef = 0;
  /** parameter counts by function (fengari's closure object): a script redefines its events rarely */
  private readonly paramCounts = new WeakMap<object, number>();
  /** onHandshake's checked applications by path */
  private readonly handshakeCache = new Map<string, { app: Application | null; at: number }>();
  /** paths whose applications define no onHandshake, and when that was seen */
  private readonly noHandshakeEvent = new Map<string, number>();

  constructor(options: HostOptions) {
    this.rt = new Runtime(options.wwwDir, options.logger);
    this.rt.lua.budget = { timeoutMs: options.scriptTimeout ?? 2000, memoryBytes: options.scriptMemory ?? 512 * 1024 * 1024 };
    this.tree = new ApplicationTree(this.rt);
    this.conv = new AMFConverter(this.rt);
    this.conv.fallback = this.tree.root;
    const ctx: HostContext = { rt: this.rt, conv: this.conv, server: options.server, tree: this.tree };
    this.ctx = ctx;
    const L = this.rt.lua.L;
    installLogFunctions(this.rt);
    attachChildrenLoader(this.rt, this.tree);
    const dataFile = options.dataFile ?? join(dirname(this.rt.wwwDir), 'data', 'data.sqlite');
    installSandbox(this.rt, { unsafe: options.unsafe ?? false, dataDir: dataFile === ':memory:' ? null : dirname(dataFile) });
    this.data = attachPersistentData(this.rt, dataFile);
    pushClients(ctx, this.clients);
    const clientsRef = this.rt.lua.ref();
    const publications = options.publications ?? new Publications();
    this.streams = new LuaStreamEvents(ctx, publications, (port) => this.byPort.get(port));
    publications.events = this.streams;
    this.groups = new LuaGroups(ctx, (port) => this.byPort.get(port));
    pushGroups(L, this.groups);
    const groupsRef = this.rt.lua.ref();
    this.servers = new LuaServers(ctx);
    pushGlobal(ctx, clientsRef, this.streams, { groupsRef, serversRef: this.servers.ref, joinGroup: joinGroupMethod(this.groups) });
    lua.lua_pushvalue(L, -1);
    lua.lua_setglobal(L, 'cumulus');
    lua.lua_setglobal(L, 'mona');
  }

  get amfReadOptions(): AMFReadOptions {
    return this.conv.readOptions;
  }

  get amfWriteOptions(): AMFWriteOptions {
    return this.conv.writeOptions;
  }

  start(): void {
    this.tree.start();
  }

  stop(): void {
    this.tree.stop();
    this.data.close();
  }

  resolvePath(path: string): PathCheck {
    return this.tree.checkPath(path);
  }

  onConnection(port: ClientPort, args: AMFValue[]): ConnectionVerdict {
    const checked = this.tree.checkPath(port.path);
    if (!checked.ok) {
      this.rt.logger.warn({ address: port.address, path: clip(port.path) }, `connection refused: ${checked.reason}`);
      return { accepted: false, description: `invalid application path (${checked.reason})` };
    }
    const app = this.tree.applicationFor(checked.path);
    if (app.failure !== null) {
      // fail closed: a broken main.lua must not let clients in without its onConnection
      this.rt.logger.warn({ address: port.address, app: app.path || '/' }, `connection refused: main.lua failed (${app.failure})`);
      return { accepted: false, description: app.failure };
    }
    const path = checked.path === '' ? '' : '/' + checked.path;
    const state = createClient(this.ctx, port, app.path, path);
    const L = this.rt.lua.L;
    const base = lua.lua_gettop(L);
    let info: AMFObject = {};
    let timeout: number | undefined;
    if (app.pushEvent('onConnection')) {
      this.rt.lua.push(state.ref);
      const n = this.pushArgs(app, args);
      const r = this.rt.call(app, 1 + n, 1, 'onConnection', 'warn');
      if (!r.ok) {
        this.release(state);
        return { accepted: false, description: stripPosition(r.message) || 'client rejected' };
      }
      if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
        info = this.asObject(
          app,
          this.withApp(app, () => this.conv.toAMF(L, -1)),
        );
        // the table goes to the client in the connect answer and overloads its parameters (timeout among them)
        const t = info['timeout'];
        if (typeof t === 'number') timeout = t;
        overloadParameters(state, info);
      }
      lua.lua_settop(L, base);
    }
    if (!state.alive || port.writer.closed) {
      // the script closed the session while accepting it
      this.release(state);
      return { accepted: false, description: 'client rejected' };
    }
    this.clients.set(state.id, state);
    this.byPort.set(port, state);
    if (timeout !== undefined) port.setTimeout?.(timeout);
    return timeout === undefined ? { accepted: true, info } : { accepted: true, info, timeout };
  }

  onDisconnection(port: ClientPort): void {
    const state = this.byPort.get(port);
    if (!state) return;
    state.alive = false;
    // out of the clients collection before its onDisconnection, as MonaServer (LUAInvoker::RemoveClient first)
    this.clients.delete(state.id);
    this.clientEvent(state, 'onDisconnection');
    this.release(state);
  }

  onFailed(port: ClientPort, error: string): void {
    const state = this.byPort.get(port);
    if (!state) return;
    state.alive = false;
    this.clientEvent(state, 'onFailed', error);
  }

  onAddressChanged(port: ClientPort, oldAddress: string): void {
    const state = this.byPort.get(port);
    if (!state) return;
    const app = this.tree.live(state.appPath);
    if (!this.rt.lua.pushMethod(state.ref, 'onAddressChanged')) return;
    lua.lua_pushliteral(this.rt.lua.L, oldAddress);
    this.rt.call(app, 2, 0, 'client:onAddressChanged');
  }

  onCall(port: ClientPort, name: string, _transactionId: number, args: AMFValue[]): CallOutcome {
    const state = this.byPort.get(port);
    if (!state || !state.alive) {
      return { ok: false, code: CALL_FAILED, description: 'Client must be connected before remote procedure calling' };
    }
    const method = name === '' ? 'onMessage' : name;
    const app = this.tree.live(state.appPath);
    const L = this.rt.lua.L;
    const base = lua.lua_gettop(L);
    if (!this.rt.lua.pushMethod(state.ref, method)) {
      // MonaServer's words (its root application's path is '')
      return { ok: false, code: CALL_FAILED, description: `Method client '${method}' not found in application ${app.path}` };
    }
    const n = this.pushArgs(app, args);
    state.pending = [];
    const r = this.rt.call(app, 1 + n, lua.LUA_MULTRET, `client:${method}`, 'warn');
    const pending = state.pending;
    state.pending = null;
    if (!r.ok) return { ok: false, code: CALL_FAILED, description: r.message };
    const results = this.withApp(app, () => this.conv.range(L, base + 1, lua.lua_gettop(L)));
    lua.lua_settop(L, base);
    return { ok: true, results: pending.length ? [...pending, ...results] : results };
  }

  hasMethod(port: ClientPort, name: string): boolean {
    const state = this.byPort.get(port);
    if (!state || !state.alive) return false;
    if (!this.rt.lua.pushMethod(state.ref, name)) return false;
    lua.lua_pop(this.rt.lua.L, 2);
    return true;
  }

  /** client:onRead(file, args...): its return forms as MonaServer reads them (MonaServer-behaviour.md §2.4). */
  onRead(port: ClientPort, file: string, args: AMFValue[]): ReadOutcome {
    const state = this.byPort.get(port);
    if (!state || !state.alive || !this.rt.lua.pushMethod(state.ref, 'onRead')) return { kind: 'serve', file, returned: false };
    const app = this.tree.live(state.appPath);
    const L = this.rt.lua.L;
    const base = lua.lua_gettop(L) - 2;
    lua.lua_pushliteral(L, file);
    const n = this.pushArgs(app, args);
    const r = this.rt.call(app, 2 + n, lua.LUA_MULTRET, 'client:onRead', 'warn');
    if (!r.ok) return { kind: 'error', description: r.message };
    const count = lua.lua_gettop(L) - base;
    try {
      if (count === 0) return { kind: 'serve', file, returned: false };
      const first = lua.lua_type(L, base + 1);
      if (first === lua.LUA_TNIL) return { kind: 'refuse' };
      if (first !== lua.LUA_TSTRING && first !== lua.LUA_TNUMBER) return { kind: 'serve', file, returned: true };
      const named = lua.lua_tojsstring(L, base + 1) ?? '';
      // only the last component counts: a script cannot name a file outside the request's folder
      const name = named.slice(named.lastIndexOf('/') + 1);
      if (count >= 2 && lua.lua_type(L, base + 2) === lua.LUA_TTABLE) {
        const parameters = this.asObject(
          app,
          this.withApp(app, () => this.conv.toAMF(L, base + 2)),
        );
        return { kind: 'serve', file: name, parameters, returned: true };
      }
      return { kind: 'serve', file: name, returned: true };
    } finally {
      lua.lua_settop(L, base);
    }
  }

  /**
   * Reached from every IHello, so it must stay cheap whatever the path: the path is parsed with its length and
   * depth capped and no filesystem work; only when an application on it defines onHandshake is the path's
   * filesystem check and application lookup done, and then cached for HANDSHAKE_CACHE_MS.
   */
  onHandshake(address: string, path: string, properties: Record<string, string>, attempts: number): HandshakeRedirect {
    const parsed = this.tree.parsePath(path);
    if (!parsed.ok) return [];
    // No onHandshake along the path, seen within the cache time: answered without entering Lua. Each lookup
    // through the environments' __index left stack values that V8 promoted, so an IHello flood made ~100
    // bytes of old-space garbage per IHello here (issue 18); a function defined later is seen within a second.
    const now = performance.now();
    const absent = this.noHandshakeEvent.get(parsed.path);
    if (absent !== undefined && now - absent < HANDSHAKE_CACHE_MS) return [];
    const loaded = this.tree.loadedFor(parsed.path);
    if (!loaded.pushEvent('onHandshake')) {
      if (this.noHandshakeEvent.size >= HANDSHAKE_CACHE_SIZE) this.noHandshakeEvent.clear();
      this.noHandshakeEvent.set(parsed.path, now);
      return [];
    }
    lua.lua_pop(this.rt.lua.L, 1);
    const app = this.handshakeApplication(parsed.path);
    if (!app) return [];
    if (!app.pushEvent('onHandshake')) return [];
    const L = this.rt.lua.L;
    const base = lua.lua_gettop(L) - 1;
    // the seeds document (address, path, properties, attempts); MonaServer's code passes the protocol first,
    // so a function declaring five parameters or more gets ("RTMFP", address, path, properties, attempts)
    const withProtocol = this.parameterCount(-1) >= 5;
    if (withProtocol) lua.lua_pushliteral(L, 'RTMFP');
    lua.lua_pushliteral(L, address);
    lua.lua_pushliteral(L, parsed.path === '' ? '' : '/' + parsed.path);
    const props: AMFObject = {};
    for (const [k, v] of Object.entries(properties)) props[k] = queryValue(v);
    this.conv.push(L, props);
    lua.lua_pushinteger(L, attempts);
    if (!this.rt.call(app, withProtocol ? 5 : 4, lua.LUA_MULTRET, 'onHandshake').ok) return [];
    const out = this.servers.addresses(L, base + 1, lua.lua_gettop(L));
    lua.lua_settop(L, base);
    return out;
  }

  /** The application for a parsed path, links checked; cached briefly, as handshakes repeat (null: refused). */
  private handshakeApplication(path: string): Application | null {
    const now = performance.now();
    const hit = this.handshakeCache.get(path);
    if (hit && now - hit.at < HANDSHAKE_CACHE_MS && (!hit.app || hit.app.running)) return hit.app;
    const checked = this.tree.checkLinks(path);
    const app = checked.ok ? this.tree.applicationFor(checked.path) : null;
    if (this.handshakeCache.size >= HANDSHAKE_CACHE_SIZE) this.handshakeCache.clear();
    this.handshakeCache.set(path, { app, at: now });
    return app;
  }

  /**
   * Root application's onRendezVousUnknown: Cumulus wrote `(peerId)`, Mona `(protocol, peerId)`. A script
   * function declaring two parameters or more gets Mona's arguments, any other (one parameter, none,
   * only `...`) Cumulus' single peerId. The peer id is its 32 raw bytes, as both servers pass it (like
   * client.rawId; mona.clients(peerId) finds a client by it).
   */
  onRendezVousUnknown(peerId: string, protocol: ProtocolName): HandshakeRedirect {
    const app = this.tree.root;
    if (!app.pushEvent('onRendezVousUnknown')) return [];
    const L = this.rt.lua.L;
    const base = lua.lua_gettop(L) - 1;
    const rawId = fromHex(peerId);
    if (this.parameterCount(-1) >= 2) {
      lua.lua_pushliteral(L, protocol);
      pushBytes(L, rawId);
      if (!this.rt.call(app, 2, lua.LUA_MULTRET, 'onRendezVousUnknown').ok) return [];
    } else {
      pushBytes(L, rawId);
      if (!this.rt.call(app, 1, lua.LUA_MULTRET, 'onRendezVousUnknown').ok) return [];
    }
    const out = this.servers.addresses(L, base + 1, lua.lua_gettop(L));
    lua.lua_settop(L, base);
    return out;
  }

  onServerConnection(server: PeerServerPort): string | undefined {
    return this.servers.connection(server);
  }

  onServerMessage(server: PeerServerPort, handler: string, payload: Uint8Array): void {
    this.servers.message(server, handler, payload);
  }

  onServerDisconnection(server: PeerServerPort, error: string | undefined): void {
    this.servers.disconnection(server, error);
  }

  onJoinGroup(port: ClientPort, group: GroupPort): void {
    this.groupEvent(port, group, 'onJoinGroup');
  }

  onUnjoinGroup(port: ClientPort, group: GroupPort): void {
    this.groupEvent(port, group, 'onUnjoinGroup');
    this.groups.prune();
  }

  onManage(): void {
    this.tree.sweep();
    this.streams.refresh();
    this.groups.prune();
    const root = this.tree.root;
    if (root.pushEvent('onManage')) this.rt.call(root, 0, 0, 'onManage');
    for (const state of [...this.clients.values()]) {
      if (!state.alive) continue;
      const app = this.tree.live(state.appPath);
      if (this.rt.lua.pushMethod(state.ref, 'onManage')) this.rt.call(app, 1, 0, 'client:onManage');
      for (const w of [...state.writers]) {
        if (!w.closed && this.rt.lua.pushMethod(w.ref, 'onManage')) this.rt.call(app, 1, 0, 'writer:onManage');
      }
    }
  }

  /** Connected clients known to scripts (tests and diagnostics). */
  get clientCount(): number {
    return this.clients.size;
  }

  // ---------------------------------------------------------------------------------------------

  /** client:onJoinGroup(group) where the script defined it, else the application's onJoinGroup(client, group). */
  private groupEvent(port: ClientPort, group: GroupPort, event: 'onJoinGroup' | 'onUnjoinGroup'): void {
    const state = this.byPort.get(port);
    if (!state) return;
    const app = this.tree.live(state.appPath);
    const L = this.rt.lua.L;
    if (this.rt.lua.pushMethod(state.ref, event)) {
      this.groups.push(L, group);
      this.rt.call(app, 2, 0, `client:${event}`);
    } else if (app.pushEvent(event)) {
      this.rt.lua.push(state.ref);
      this.groups.push(L, group);
      this.rt.call(app, 2, 0, event);
    }
  }

  /** Parameters declared by the Lua function at idx (0 for a JS function). */
  private parameterCount(idx: number): number {
    const L = this.rt.lua.L;
    const fn = lua.lua_absindex(L, idx);
    const closure = lua.lua_topointer(L, fn);
    const known = closure ? this.paramCounts.get(closure) : undefined;
    if (known !== undefined) return known;
    if (this.paramsRef === 0) {
      const code = fengari.to_luastring('return debug.getinfo(..., "u").nparams');
      if (lauxlib.luaL_loadbufferx(L, code, code.length, '=nparams', 't') !== lua.LUA_OK) {
        lua.lua_pop(L, 1);
        return 0;
      }
      this.paramsRef = this.rt.lua.ref();
    }
    this.rt.lua.push(this.paramsRef);
    lua.lua_pushvalue(L, fn);
    if (this.rt.lua.pcall(1, 1).ok === false) return 0;
    const n = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
    lua.lua_pop(L, 1);
    if (closure) this.paramCounts.set(closure, n);
    return n;
  }

  /** onDisconnection(client) / onFailed(client, error) of the client's application. */
  private clientEvent(state: ClientState, event: 'onDisconnection' | 'onFailed', error?: string): void {
    const app = this.tree.live(state.appPath);
    if (!app.pushEvent(event)) return;
    this.rt.lua.push(state.ref);
    if (error === undefined) this.rt.call(app, 1, 0, event);
    else {
      lua.lua_pushliteral(this.rt.lua.L, error);
      this.rt.call(app, 2, 0, event);
    }
  }

  private pushArgs(app: Application, args: readonly AMFValue[]): number {
    return this.withApp(app, () => this.conv.pushAll(this.rt.lua.L, args));
  }

  private withApp<T>(app: RunningApplication, fn: () => T): T {
    const previous = this.rt.current;
    this.rt.current = app;
    try {
      return fn();
    } finally {
      this.rt.current = previous;
    }
  }

  private asObject(app: Application, v: AMFValue): AMFObject {
    if (isAMFObject(v)) return v;
    if (v instanceof MixedArray) return v.assoc;
    if (v instanceof TypedObject) return v.properties;
    if (Array.isArray(v) && v.length === 0) return {};
    this.rt.logger.warn({ app: app.path || '/' }, 'onConnection returned a table that is not an object; ignored');
    return {};
  }

  private release(state: ClientState): void {
    state.alive = false;
    this.clients.delete(state.id);
    this.byPort.delete(state.port);
    const lh = this.rt.lua;
    for (const w of state.writers) lh.unref(w.ref);
    state.writers.clear();
    if (state.writer.ref !== 0) lh.unref(state.writer.ref);
    if (state.propertiesRef !== 0) lh.unref(state.propertiesRef);
    if (state.ownParameters) lh.unref(state.parametersRef);
    lh.unref(state.ref);
  }
}
