// The server's side of one WebSocket client (MonaServer-behaviour.md §3): `client.protocol` "WebSocket", JSON text
// frames both ways (a request is [method, args...], an answer [values...], a push [name, args...]), writeRaw as
// binary frames, close codes as MonaServer sends them. What is written before the upgrade completes (from
// onConnection) waits and goes out right after the 101, in order.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { hex } from '../../bytes.ts';
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import type { ClientPort, WriterPort } from '../../core/ports.ts';
import { toJSON } from './json.ts';
import { WS_CLOSE, sendableCloseCode } from './params.ts';

/** Frames queued before the socket is attached (onConnection writing): bounded. */
const MAX_EARLY_FRAMES = 256;

export class WsWriter implements WriterPort {
  reliable = true;
  readonly resultsInCallOrder = true;
  private ownClosed = false;

  constructor(
    private readonly client: WsClient,
    private readonly main: boolean,
  ) {}

  get closed(): boolean {
    return this.ownClosed || this.client.closed;
  }

  writeInvocation(name: string, args: AMFValue[]): void {
    if (!this.closed) this.client.sendText(toJSON([name || 'onMessage', ...args]));
  }

  writeResult(_transactionId: number, values: AMFValue[]): void {
    if (!this.closed) this.client.sendText(toJSON(values));
  }

  writeStatus(code: string, description: string, level: 'status' | 'error' = 'status'): void {
    if (!this.closed) this.client.sendText(toJSON(['onStatus', { level, code, description }]));
  }

  writeData(name: string, args: AMFValue[]): void {
    if (!this.closed) this.client.sendText(toJSON([name, ...args]));
  }

  writeRaw(bytes: Uint8Array): void {
    if (!this.closed) this.client.sendBinary(Buffer.from(bytes));
  }

  flush(): void {}

  newWriter(): WriterPort {
    return new WsWriter(this.client, false);
  }

  close(code?: number): void {
    if (!this.main) {
      this.ownClosed = true;
      return;
    }
    // MonaServer: writer:close(code) sends that close code, 0 (or none) being a normal close
    this.client.close(code !== undefined && sendableCloseCode(code) ? code : WS_CLOSE.NORMAL);
  }
}

export class WsClient implements ClientPort {
  readonly protocol = 'WebSocket';
  readonly rawId: Uint8Array = new Uint8Array(randomBytes(32));
  readonly id = hex(this.rawId);
  readonly address: string;
  readonly path: string;
  readonly query: string;
  readonly properties: AMFObject;
  readonly peerAddresses: readonly string[] = [];
  ping = 0;
  lastReceptionTime = Date.now();
  /** when the last server ping went out (performance.now), -1 when none is awaited */
  pingSentAt = -1;
  lastPingAt = performance.now();
  /** seconds without a frame before the client is dropped ([WebSocket] timeout, or onConnection's) */
  timeoutSeconds: number;
  closed = false;
  connected = false;
  /** stops its live stream, when it is an FLV viewer */
  stop: (() => void) | undefined;
  readonly writer: WsWriter = new WsWriter(this, true);
  private socket: WebSocket | undefined;
  private early: Array<{ data: string | Buffer; binary: boolean }> = [];
  private earlyClose: number | undefined;

  constructor(options: { address: string; path: string; query: string; properties: AMFObject; timeout: number }) {
    this.address = options.address;
    this.path = options.path;
    this.query = options.query;
    this.properties = options.properties;
    this.timeoutSeconds = options.timeout;
  }

  get ws(): WebSocket | undefined {
    return this.socket;
  }

  setTimeout(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.timeoutSeconds = seconds;
  }

  /** The upgrade completed: what was written meanwhile goes out first. */
  attach(socket: WebSocket): void {
    this.socket = socket;
    for (const frame of this.early) socket.send(frame.data, { binary: frame.binary });
    this.early = [];
    if (this.earlyClose !== undefined) socket.close(this.earlyClose);
  }

  private send(data: string | Buffer, binary: boolean): void {
    if (this.closed) return;
    if (this.socket) this.socket.send(data, { binary });
    else if (this.early.length < MAX_EARLY_FRAMES) this.early.push({ data, binary });
  }

  sendText(text: string): void {
    this.send(text, false);
  }

  sendBinary(bytes: Buffer): void {
    this.send(bytes, true);
  }

  close(code: number, reason?: string): void {
    if (this.closed) return;
    if (this.socket) this.socket.close(code, reason === undefined ? undefined : clipReason(reason));
    else this.earlyClose = code;
  }
}

/** A close reason is at most 123 bytes (RFC 6455 §5.5: control frames carry 125 bytes, 2 are the code). */
function clipReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
