// The server's side of one HTTP client (MonaServer-behaviour.md §2.2): made by the first request of a TCP
// connection for an application path and query, kept for the next requests of the same connection while they
// name the same path and query, replaced (onDisconnection, then a new onConnection) when they do not, and gone
// with the connection. Its writer collects what a script writes during one request: writeRaw bytes become the
// response of an onRead that returned nothing; values written with writeMessage answer a method call.
import { randomBytes } from 'node:crypto';
import { hex } from '../../bytes.ts';
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import type { ClientPort, ProtocolName, WriterPort } from '../../core/ports.ts';

/** What a client writes between two responses, bounded: a script cannot grow it without limit. */
const MAX_QUEUED = 256;
const MAX_RAW_BYTES = 16 * 1024 * 1024;

export class HttpWriter implements WriterPort {
  reliable = true;
  /** writeRaw bytes of the request being answered */
  raw: Buffer[] = [];
  rawBytes = 0;
  /** writeMessage / writeInvocation values since the last answer */
  values: AMFValue[][] = [];
  dropped = 0;
  private ownClosed = false;

  constructor(
    private readonly owner: { isClosed(): boolean; end(): void },
    private readonly main: boolean,
  ) {}

  get closed(): boolean {
    return this.ownClosed || this.owner.isClosed();
  }

  private queue(values: AMFValue[]): void {
    if (this.closed) return;
    if (this.values.length >= MAX_QUEUED) this.dropped++;
    else this.values.push(values);
  }

  writeInvocation(name: string, args: AMFValue[]): void {
    this.queue([name, ...args]);
  }

  writeResult(_transactionId: number, values: AMFValue[]): void {
    this.queue(values);
  }

  writeStatus(code: string, description: string, level: 'status' | 'error' = 'status'): void {
    this.queue(['onStatus', { level, code, description }]);
  }

  writeData(name: string, args: AMFValue[]): void {
    this.queue([name, ...args]);
  }

  writeRaw(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.rawBytes + bytes.length > MAX_RAW_BYTES) {
      this.dropped++;
      return;
    }
    this.raw.push(Buffer.from(bytes));
    this.rawBytes += bytes.length;
  }

  /** The raw bytes written since the last take. */
  takeRaw(): Buffer | undefined {
    if (this.raw.length === 0) return undefined;
    const out = Buffer.concat(this.raw);
    this.raw = [];
    this.rawBytes = 0;
    return out;
  }

  flush(): void {}

  newWriter(): WriterPort {
    return new HttpWriter(this.owner, false);
  }

  close(): void {
    if (!this.main) {
      this.ownClosed = true;
      return;
    }
    this.owner.end();
  }
}

export interface HttpClientOptions {
  protocol: ProtocolName;
  address: string;
  path: string;
  query: string;
  properties: AMFObject;
  /** the main writer's close(): end the connection */
  end(): void;
  /** onConnection's timeout (seconds) */
  setTimeout(seconds: number): void;
}

export class HttpClient implements ClientPort {
  readonly protocol: ProtocolName;
  readonly rawId: Uint8Array = new Uint8Array(randomBytes(32));
  readonly id = hex(this.rawId);
  readonly address: string;
  readonly path: string;
  readonly query: string;
  properties: AMFObject;
  readonly peerAddresses: readonly string[] = [];
  readonly ping = 0;
  lastReceptionTime = Date.now();
  closed = false;
  /** accepted by the application (added to the core) */
  connected = false;
  readonly writer: HttpWriter;
  private readonly options: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.options = options;
    this.protocol = options.protocol;
    this.address = options.address;
    this.path = options.path;
    this.query = options.query;
    this.properties = options.properties;
    this.writer = new HttpWriter({ isClosed: () => this.closed, end: () => options.end() }, true);
  }

  setTimeout(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.options.setTimeout(seconds);
  }
}

/** client.properties of a request (§2.1): `version`, each header by its name as sent, one key per cookie. */
export function requestProperties(version: string, rawHeaders: string[]): AMFObject {
  const properties: AMFObject = { version };
  for (let i = 0; i + 1 < rawHeaders.length && i < 200; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    if (name === '__proto__') continue;
    properties[name] = value;
    if (name.toLowerCase() === 'cookie') {
      for (const pair of value.split(';')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const key = pair.slice(0, eq).trim();
        if (key !== '' && key !== '__proto__' && !(key in properties)) properties[key] = pair.slice(eq + 1).trim();
      }
    }
  }
  return properties;
}
