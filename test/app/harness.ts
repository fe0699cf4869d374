// Test doubles for the server side of the host: ports that record what was written, a logger
// that keeps every line, and a scratch copy of the fixture applications.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AMFObject, AMFValue } from '../../src/flash/amf/types.ts';
import type { ClientPort, ServerPort, WriterPort } from '../../src/core/ports.ts';
import { LuaApplicationHost } from '../../src/app/host.ts';
import type { AppLogger } from '../../src/app/runtime.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/www', import.meta.url));

export type Written =
  | { kind: 'invocation'; name: string; args: AMFValue[] }
  | { kind: 'result'; txn: number; values: AMFValue[] }
  | { kind: 'status'; code: string; description: string; level?: string }
  | { kind: 'data'; name: string; args: AMFValue[] }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'flush'; full?: boolean }
  | { kind: 'close' };

export class FakeWriter implements WriterPort {
  closed = false;
  reliable = true;
  readonly written: Written[] = [];
  readonly created: FakeWriter[] = [];
  onClose?: () => void;
  writeInvocation(name: string, args: AMFValue[]): void {
    this.written.push({ kind: 'invocation', name, args });
  }
  writeResult(txn: number, values: AMFValue[]): void {
    this.written.push({ kind: 'result', txn, values });
  }
  writeStatus(code: string, description: string, level?: 'status' | 'error'): void {
    this.written.push({ kind: 'status', code, description, level });
  }
  writeData(name: string, args: AMFValue[]): void {
    this.written.push({ kind: 'data', name, args });
  }
  writeRaw(bytes: Uint8Array): void {
    this.written.push({ kind: 'raw', bytes });
  }
  flush(full?: boolean): void {
    this.written.push({ kind: 'flush', full });
  }
  newWriter(): WriterPort {
    const w = new FakeWriter();
    this.created.push(w);
    return w;
  }
  close(): void {
    this.closed = true;
    this.written.push({ kind: 'close' });
    this.onClose?.();
  }
}

let nextId = 1;

export class FakeClient implements ClientPort {
  readonly protocol = 'RTMFP';
  readonly rawId: Uint8Array;
  address = '127.0.0.1:5000';
  ping = 12;
  lastReceptionTime = Date.now();
  peerAddresses: string[] = [];
  readonly writer = new FakeWriter();
  readonly properties: AMFObject;
  timeout?: number;
  constructor(
    readonly path = '',
    readonly query = '',
    properties: AMFObject = {},
  ) {
    this.rawId = new Uint8Array(32).fill(nextId++ & 0xff);
    this.rawId[0] = 0xab;
    this.properties = {
      app: path,
      flashVer: 'WIN 11,7,700,202',
      swfUrl: 'http://x/a.swf',
      pageUrl: 'http://x/',
      tcUrl: `rtmfp://localhost/${path}`,
      objectEncoding: 3,
      ...properties,
    };
  }
  setTimeout(seconds: number): void {
    this.timeout = seconds;
  }
}

export interface LogLine {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

export function captureLogger(): AppLogger & { lines: LogLine[]; messages(level?: string): string[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  };
  const logger = {
    lines,
    messages: (level?: string) => lines.filter((l) => !level || l.level === level).map((l) => l.msg),
    fatal: at('fatal'),
    critic: at('critic'),
    error: at('error'),
    warn: at('warn'),
    note: at('note'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
  };
  return logger;
}

export class FakeServer implements ServerPort {
  readonly blacklisted = new Set<string>();
  clients: ClientPort[] = [];
  configs: Record<string, Record<string, string>> = {
    '': { port: '1935' },
    RTMFP: { port: '1935', keepAlivePeer: '10' },
    myGroup: { myConfig: 'test', off: 'false', on: 'true' },
  };
  publicAddress = '203.0.113.1:1935';
  startTime = Date.now();
  blacklist = {
    add: (a: string) => void this.blacklisted.add(a),
    remove: (a: string) => void this.blacklisted.delete(a),
  };
  clientById(): ClientPort | undefined {
    return undefined;
  }
}

/** A scratch copy of test/fixtures/www, a host on it, and what it logged. */
export function setup(options: { start?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-www-'));
  const www = join(dir, 'www');
  cpSync(FIXTURES, www, { recursive: true });
  const logger = captureLogger();
  const server = new FakeServer();
  const host = new LuaApplicationHost({ wwwDir: www, logger, server });
  if (options.start !== false) host.start();
  const notes = () => logger.messages('note');
  const connect = (client: FakeClient, ...args: AMFValue[]) => host.onConnection(client, args);
  return {
    dir,
    www,
    host,
    logger,
    server,
    notes,
    connect,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A host connected by one client to the application at `path`, and `call(name, ...args)` that expects a result. */
export function connectedApp(path: string, options: { configs?: Record<string, Record<string, string>> } = {}) {
  const t = setup({ start: false });
  if (options.configs) Object.assign(t.server.configs, options.configs);
  t.host.start();
  const c = new FakeClient(path);
  assert.equal(t.connect(c).accepted, true);
  const call = (name: string, ...args: unknown[]): unknown[] => {
    const r = t.host.onCall(c, name, 1, args as never[]);
    assert.equal(r.ok, true, JSON.stringify(r));
    return (r as { results: unknown[] }).results;
  };
  return { ...t, c, call };
}
