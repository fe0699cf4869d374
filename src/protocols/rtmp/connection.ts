// One RTMP TCP connection: the handshake, the chunk layer both ways and the protocol control messages
// (RTMP.md §1, §2, §4, §7), in plain code per read; the connection actor (machines/rtmp-connection.ts)
// carries the lifecycle and the timers. Command, data and media messages go to the RtmpClient.
import type { Socket } from 'node:net';
import { createActor, type Actor } from 'xstate';
import { rtmpConnectionMachine } from '../../../machines/rtmp-connection.ts';
import { Bindings } from '../../actors/bindings.ts';
import { observe, provideFacts } from '../../actors/observe.ts';
import { WireError, errorCode } from '../../errors.ts';
import { channels } from '../../core/diagnostics.ts';
import type { Clock } from '../../clock.ts';
import type { Core } from '../../core/core.ts';
import type { Logger, RateLimitedLog } from '../../log.ts';
import { ChunkReader, type RtmpMessage } from './chunk-reader.ts';
import { ChunkWriter, type SharedEncoding } from './chunk-writer.ts';
import { answerHandshake } from './handshake.ts';
import {
  CLOSE_TIMEOUT_MS,
  CSID,
  DEFAULT_ACK_WINDOW,
  EVENT,
  HANDSHAKE_SIZE,
  HANDSHAKE_TIMEOUT_MS,
  MAX_SOCKET_BACKLOG,
  MSG,
  OUT_CHUNK_SIZE,
  PEER_BANDWIDTH_DYNAMIC,
  WINDOW_ACK_SIZE,
} from './params.ts';
import { RtmpClient } from './client.ts';
import type { RtmpLink } from './link.ts';

export interface RtmpConnectionOptions {
  id: number;
  socket: Socket;
  core: Core;
  logger: Logger;
  clock: Clock;
  /** [RTMP] timeout in ms: silence after which the connection is closed */
  timeoutMs: number;
  /** the server's per-cause limiter: bad input from any number of connections logs a bounded number of lines */
  rateLog?: RateLimitedLog;
  onClosed(connection: RtmpConnection, reason: string): void;
}

export interface RtmpStats {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
}

export class RtmpConnection implements RtmpLink {
  readonly id: number;
  readonly socket: Socket;
  readonly core: Core;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly actor: Actor<typeof rtmpConnectionMachine>;
  readonly client: RtmpClient;
  readonly stats: RtmpStats = { bytesIn: 0, bytesOut: 0, messagesIn: 0 };
  /** "ip:port" of the peer, read once (a destroyed socket forgets it) */
  readonly address: string;
  timeoutMs: number;
  /** the server's per-cause log limiter, shared by its connections */
  readonly rateLog: RateLimitedLog | undefined;
  lastReceptionTime: number;
  /** round trip measured by the last PingRequest/PingResponse, ms */
  rtt = 0;
  /** the handshake bytes received so far (C0+C1, then C2) */
  private handshake: Uint8Array | undefined = new Uint8Array(0);
  private c2Remaining = HANDSHAKE_SIZE;
  /** S0+S1+S2 sent: what follows is C2, then chunks */
  private answered = false;
  private readonly reader: ChunkReader;
  readonly writer = new ChunkWriter();
  /** the client's Window Acknowledgement Size, and the byte count last acknowledged */
  private ackWindow = DEFAULT_ACK_WINDOW;
  private acknowledged = 0;
  private lastWindowSent = 0;
  private corked = false;
  private ended = false;
  private readonly key: number;
  private readonly startTime: number;
  private readonly onClosedHook: (connection: RtmpConnection, reason: string) => void;

  constructor(options: RtmpConnectionOptions) {
    this.id = options.id;
    this.socket = options.socket;
    this.core = options.core;
    this.logger = options.logger;
    this.clock = options.clock;
    this.timeoutMs = options.timeoutMs;
    this.rateLog = options.rateLog;
    this.onClosedHook = options.onClosed;
    this.startTime = this.clock.now();
    this.lastReceptionTime = this.startTime;
    const host = this.socket.remoteAddress ?? '';
    this.address = host.includes(':') ? `[${host}]:${this.socket.remotePort}` : `${host}:${this.socket.remotePort}`;
    this.reader = new ChunkReader((message) => this.onMessage(message));
    this.client = new RtmpClient(this);
    this.key = connectionBindings.bind(this);
    this.actor = createActor(boundMachine, { input: { key: this.key }, clock: this.clock, ...observe('rtmp', this.id) });
    this.actor.subscribe({ error: (error) => this.logger.error({ err: error }, 'rtmp actor error') });
    byActor.set(this.actor, this);
    this.actor.start();
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('error', (error) => this.fail(`socket error: ${error.message}`));
    this.socket.on('close', () => this.actor.send({ type: 'SOCKET_CLOSED' }));
  }

  get state(): string {
    const value = this.actor.getSnapshot().value;
    return typeof value === 'string' ? value : Object.keys(value)[0]!;
  }

  get closed(): boolean {
    return this.ended;
  }

  get writable(): boolean {
    const state = this.state;
    return !this.ended && state !== 'closing' && state !== 'failed' && state !== 'closed';
  }

  onConnected(): void {
    this.actor.send({ type: 'CONNECTED' });
  }

  onRejected(reason: string): void {
    this.actor.send({ type: 'REJECTED', reason });
  }

  /** Bytes queued on the socket and not yet taken by the kernel: what a slow reader piles up. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  /** Orderly close: what is queued is flushed, then FIN. */
  close(reason: string): void {
    this.actor.send({ type: 'CLOSE', reason });
  }

  /** Protocol error or unusable peer: a log line, and the socket destroyed. */
  fail(reason: string): void {
    this.actor.send({ type: 'FAIL', reason });
  }

  // Input --------------------------------------------------------------------------------------------
  private onData(data: Buffer): void {
    if (this.ended) return;
    this.lastReceptionTime = this.clock.now();
    this.stats.bytesIn += data.length;
    try {
      const rest = this.handshake ? this.onHandshakeData(data) : data;
      if (rest.length > 0) this.reader.push(rest);
    } catch (error) {
      if (error instanceof WireError) {
        // one short stable cause per kind of bad input (docs/diagnostics.md)
        const cause = this.answered ? 'rtmp-chunk' : 'rtmp-handshake';
        const fields = { address: this.address, err: error.message, code: errorCode(error) };
        if (this.rateLog) this.rateLog.log('warn', cause, 'rtmp protocol error, connection closed', fields);
        else this.logger.warn(fields, 'rtmp protocol error, connection closed');
        if (channels.malformed.hasSubscribers) channels.malformed.publish({ protocol: 'RTMP', cause, address: this.address });
        this.fail(error.message);
      } else {
        // a bug, not bad input: logged as such, and only this connection pays for it (the process goes on)
        this.logger.error({ address: this.address, err: error }, 'rtmp connection failed on an internal error');
        this.fail(error instanceof Error ? error.message : String(error));
      }
      return;
    }
    this.acknowledge();
    this.flush();
  }

  /** Buffers C0+C1 (answered at once) then C2 (skipped); returns the bytes that follow the handshake. */
  private onHandshakeData(data: Uint8Array): Uint8Array {
    const need = 1 + HANDSHAKE_SIZE;
    if (!this.answered) {
      const have = this.handshake!;
      const take = Math.min(need - have.length, data.length);
      const joined = new Uint8Array(have.length + take);
      joined.set(have);
      joined.set(data.subarray(0, take), have.length);
      // a wrong version byte is refused at once: no need to wait for 1536 bytes of garbage
      if (joined[0] !== 3) throw new WireError(`handshake version ${joined[0]} (expected 3)`);
      if (joined.length < need) {
        this.handshake = joined;
        return new Uint8Array(0);
      }
      const answer = answerHandshake(joined, this.clock.now() - this.startTime);
      this.answered = true;
      this.write(answer.bytes);
      this.actor.send({ type: 'HANDSHAKEN' });
      this.logger.debug({ address: this.address, digest: answer.digest }, 'rtmp handshake');
      data = data.subarray(take);
    }
    const skip = Math.min(this.c2Remaining, data.length);
    this.c2Remaining -= skip;
    if (this.c2Remaining === 0) this.handshake = undefined;
    return data.subarray(skip);
  }

  private onMessage(message: RtmpMessage): void {
    this.stats.messagesIn++;
    const payload = message.payload;
    switch (message.type) {
      case MSG.SET_CHUNK_SIZE:
        this.reader.setChunkSize(u32(payload));
        return;
      case MSG.ABORT:
        this.reader.abort(u32(payload));
        return;
      case MSG.ACK:
        return; // no flow control on acknowledgements: the socket's backlog is what is watched
      case MSG.WINDOW_ACK_SIZE: {
        const window = u32(payload);
        if (window > 0) this.ackWindow = window;
        return;
      }
      case MSG.SET_PEER_BANDWIDTH: {
        // answer with our Window Ack Size when it differs from the one last sent (RTMP.md §2.6)
        const window = u32(payload);
        if (window > 0 && window !== this.lastWindowSent) this.sendWindowAckSize(window);
        return;
      }
      case MSG.USER_CONTROL:
        this.onUserControl(payload);
        return;
      default:
        this.client.onMessage(message);
    }
  }

  private onUserControl(payload: Uint8Array): void {
    if (payload.length < 2) throw new WireError('user control message without event');
    const event = (payload[0]! << 8) | payload[1]!;
    const value = payload.length >= 6 ? u32(payload, 2) : 0;
    if (event === EVENT.PING_REQUEST) {
      this.userControl(EVENT.PING_RESPONSE, value);
    } else if (event === EVENT.PING_RESPONSE) {
      this.rtt = Math.max(0, ((this.clock.now() - this.startTime) >>> 0) - value);
    } else if (event === EVENT.SET_BUFFER_LENGTH && payload.length >= 10) {
      this.client.onBufferLength(value, u32(payload, 6));
    }
  }

  /** Acknowledgement of the bytes received, each time the client's window is crossed (RTMP.md §7.2). */
  private acknowledge(): void {
    if (this.stats.bytesIn - this.acknowledged < this.ackWindow) return;
    this.acknowledged = this.stats.bytesIn;
    this.sendControl(MSG.ACK, u32Bytes(this.stats.bytesIn >>> 0));
  }

  // Output -------------------------------------------------------------------------------------------
  /** One message on a chunk stream; dropped once the connection is closing. */
  send(csid: number, type: number, streamId: number, timestamp: number, payload: Uint8Array): void {
    if (this.ended || this.state === 'failed' || this.state === 'closed') return;
    this.write(this.writer.encode(csid, type, streamId, timestamp, payload));
  }

  /**
   * A "TC" message (type u8 | time u32 | payload, src/flash/tc.ts) as an RTMP message. AMF3 data (0x0f)
   * whose format byte is 0 goes as AMF0 data (0x12): players such as ffmpeg only read type 18.
   */
  sendTC(csid: number, streamId: number, message: Uint8Array): void {
    let type = message[0]!;
    const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
    let payload = message.subarray(5);
    if (type === MSG.DATA_AMF3 && payload[0] === 0) {
      type = MSG.DATA_AMF0;
      payload = payload.subarray(1);
    }
    this.send(csid, type, streamId, time, payload);
  }

  /**
   * A relayed audio/video TC message. Listeners at the same media time get the same message object from the
   * publication (Publication.encodeMedia), so its fmt-0 encoding is made once and the same buffer written to
   * every player with the same stream id and chunk size: a fan-out costs one copy of the payload, not one per player.
   */
  sendMedia(csid: number, streamId: number, message: Uint8Array): void {
    if (this.ended || this.state === 'failed' || this.state === 'closed') return;
    const type = message[0]!;
    const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
    const chunkSize = this.writer.chunkSize;
    const cached = sharedEncodings.get(message);
    if (cached && cached.csid === csid && cached.streamId === streamId && cached.chunkSize === chunkSize) {
      this.writer.note(csid, type, streamId, time, message.length - 5);
      this.write(cached.bytes);
      return;
    }
    const bytes = this.writer.encode(csid, type, streamId, time, message.subarray(5), true);
    sharedEncodings.set(message, { csid, streamId, chunkSize, bytes });
    this.write(bytes);
  }

  sendControl(type: number, payload: Uint8Array): void {
    this.send(CSID.CONTROL, type, 0, 0, payload);
  }

  userControl(event: number, ...values: number[]): void {
    const payload = new Uint8Array(2 + 4 * values.length);
    const view = new DataView(payload.buffer);
    view.setUint16(0, event);
    values.forEach((value, i) => view.setUint32(2 + 4 * i, value >>> 0));
    this.sendControl(MSG.USER_CONTROL, payload);
  }

  sendWindowAckSize(window: number): void {
    this.lastWindowSent = window;
    this.sendControl(MSG.WINDOW_ACK_SIZE, u32Bytes(window));
  }

  /** What servers send on connect (RTMP.md §2.7): window, peer bandwidth, then our larger chunk size. */
  sendProtocolSettings(): void {
    this.sendWindowAckSize(WINDOW_ACK_SIZE);
    this.sendControl(MSG.SET_PEER_BANDWIDTH, Uint8Array.of(...u32Bytes(WINDOW_ACK_SIZE), PEER_BANDWIDTH_DYNAMIC));
    this.sendControl(MSG.SET_CHUNK_SIZE, u32Bytes(OUT_CHUNK_SIZE));
    this.writer.chunkSize = OUT_CHUNK_SIZE;
    this.userControl(EVENT.STREAM_BEGIN, 0);
  }

  private write(bytes: Uint8Array): void {
    if (!this.corked) {
      // what one read (or one fan-out) produces leaves in one writev
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.flush());
    }
    this.stats.bytesOut += bytes.length;
    this.socket.write(bytes);
    if (this.socket.writableLength > MAX_SOCKET_BACKLOG) {
      this.logger.warn({ address: this.address, backlog: this.socket.writableLength }, 'rtmp client does not read, connection dropped');
      this.fail('slow reader');
    }
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  // Actor implementations ----------------------------------------------------------------------------
  /** @internal */ sendPing(): void {
    this.userControl(EVENT.PING_REQUEST, (this.clock.now() - this.startTime) >>> 0);
    this.flush();
  }

  /** @internal */ endSocket(): void {
    this.flush();
    this.socket.end();
  }

  /** @internal */ destroySocket(): void {
    this.socket.destroy();
  }

  /** @internal */ onFailed(reason: string): void {
    this.client.onFailed(reason);
  }

  /** @internal */ onClosed(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.logger.debug({ address: this.address, reason }, 'rtmp connection closed');
    this.socket.destroy();
    this.client.onClosed();
    connectionBindings.unbind(this.key);
    this.onClosedHook(this, reason);
  }

  /** @internal the delay left before the silence reaches the timeout */
  idleDelay(): number {
    return Math.max(50, this.timeoutMs - (this.clock.now() - this.lastReceptionTime));
  }

  /** @internal */ silent(): boolean {
    return this.clock.now() - this.lastReceptionTime >= this.timeoutMs - 5;
  }
}

function u32(bytes: Uint8Array, at = 0): number {
  if (bytes.length < at + 4) throw new WireError(`control message of ${bytes.length} bytes`);
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function u32Bytes(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** The last full encoding of each relayed media message (keyed by the message object, dropped with it). */
const sharedEncodings = new WeakMap<Uint8Array, SharedEncoding>();

const connectionBindings = new Bindings<RtmpConnection>();
const byActor = new WeakMap<object, RtmpConnection>();

const boundMachine = rtmpConnectionMachine.provide({
  actions: {
    sendPing: ({ context }) => connectionBindings.get(context.key)?.sendPing(),
    endSocket: ({ context }) => connectionBindings.get(context.key)?.endSocket(),
    destroySocket: ({ context }) => connectionBindings.get(context.key)?.destroySocket(),
    notifyFailed: ({ context }) => connectionBindings.get(context.key)?.onFailed(context.reason),
    closed: ({ context }) => connectionBindings.get(context.key)?.onClosed(context.reason),
  },
  guards: {
    silent: ({ context }) => connectionBindings.get(context.key)?.silent() ?? true,
  },
  delays: {
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    idleCheck: ({ context }) => connectionBindings.get(context.key)?.idleDelay() ?? 50,
    pingInterval: ({ context }) => Math.max(1_000, (connectionBindings.get(context.key)?.timeoutMs ?? 60_000) / 2),
    closeTimeout: CLOSE_TIMEOUT_MS,
  },
});

provideFacts('rtmp', (ref) => {
  const connection = byActor.get(ref as object);
  if (!connection) return undefined;
  return {
    label: `${connection.address} ${connection.client.path}`,
    facts: {
      address: connection.address,
      path: connection.client.path,
      streams: connection.client.streamCount,
      bytesIn: connection.stats.bytesIn,
      bytesOut: connection.stats.bytesOut,
      backlog: connection.backlog,
      rtt: connection.rtt,
    },
  };
});
