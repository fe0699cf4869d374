// One RTMFP session endpoint, the same code for the server (responder) and the client (initiator):
// chunk dispatch, receiving flows, writers, acks, keepalive arithmetic, RTT, packing and sealing.
// Per-packet work is here in plain code; the session actor (machines/session.ts) carries the lifecycle.
import { createHmac, randomBytes } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import { sessionMachine, type SessionEvent } from '../../../../machines/session.ts';
import { flowMachine, type FlowInput } from '../../../../machines/flow.ts';
import type { Clock } from '../../../clock.ts';
import type { PacketCipher } from '../crypto/packet-cipher.ts';
import type { Logger } from '../../../log.ts';
import { ByteWriter, decodeVLU, equalBytes } from '../../../bytes.ts';
import { WireError, errorCode } from '../../../errors.ts';
import { CHUNK, decodeChunks, writeChunk, type Chunk, type UserDataChunk, type FIHelloChunk } from '../wire/chunks.ts';
import { MODE, PACKET_FLAG, readPacketHeader, timestampNow, writePacketHeader } from '../wire/packet.ts';
import { FlowReceiver } from '../flow/receiver.ts';
import { FlowWriter, type WriterHost } from '../flow/writer.ts';
import { observe } from '../../../actors/observe.ts';
import { inSystem, stopActor } from '../../../actors/system.ts';
import { Bindings } from '../../../actors/bindings.ts';
import { Congestion, type NakOutcome } from './congestion.ts';
import { TimeCriticalReception } from './time-critical.ts';
import {
  ACK_EVERY_DATA_PACKETS,
  KEYING_TIMEOUT_MS,
  MAX_PINGS,
  PING_INTERVAL_MS,
  RTTVAR_GAIN,
  SRTT_GAIN,
  WRITER_GIVE_UP_MS,
} from '../params.ts';

/** flags..chunks budget of one packet: 1192 bytes before padding (RTMFP.md §1.8) minus SSID, checksum and room
 *  for a session sequence number. */
export const MAX_PACKET_CLEARTEXT = 1180;

export interface Endpoint {
  host: string;
  port: number;
}

export interface SessionTransport {
  send(datagram: Uint8Array, to: Endpoint): void;
}

export interface FlowHandler {
  /** one complete message of the flow, in order */
  onMessage(message: Uint8Array, lostBefore: number): void;
  /** the far end finished the flow (FIN) */
  onEnd?(): void;
}

export interface FlowOpening {
  flowId: number;
  /** value of the metadata option (type 0), e.g. "TC\x04\x00"; undefined when absent */
  signature: Uint8Array | undefined;
  associatedFlowId: number | undefined;
}

/** What the role above the session (server NetConnection layer, client) provides. */
export interface SessionDelegate {
  /** A flow the far end opened. Null rejects it (Flow Exception sent, its fragments still acked). */
  onFlow(session: Session, opening: FlowOpening): FlowHandler | null;
  onOpened?(session: Session): void;
  onFailed?(session: Session, reason: string): void;
  onClosed(session: Session, reason: string): void;
  onAddressChanged?(session: Session, previous: Endpoint): void;
  onForwardedHello?(session: Session, chunk: FIHelloChunk): void;
}

export interface SessionOptions {
  role: 'initiator' | 'responder';
  nearId: number;
  farId: number;
  address: Endpoint;
  cipher: PacketCipher;
  transport: SessionTransport;
  delegate: SessionDelegate;
  clock: Clock;
  logger: Logger;
  keepAliveMs: number;
  maxPings?: number;
  giveUpMs?: number;
  /** silence after which the session fails (`[RTMFP] timeout`); an application's own timeout replaces it.
   *  Undefined: only maxPings unanswered keepalive pings end it. */
  peerTimeoutMs?: number;
  /** most bytes its receiving flows may hold at once (default MAX_SESSION_BUFFERED) */
  maxBufferedBytes?: number;
  /** a budget shared with other sessions (the server's): a flow that grows it past its max is dropped too */
  sharedBuffer?: BufferBudget;
  /** the endpoint's record of time-critical reception, shared by its sessions (TCR); default: this session's own */
  timeCritical?: TimeCriticalReception;
  /** how long a session waits for its first packet under the session keys before it ends (default 95 s) */
  keyingTimeoutMs?: number;
  peerId?: Uint8Array;
  /** delayed acknowledgement (DELAYED_ACK_MS for the project's client): the acks of a lone data packet wait up to
   *  this long; 0 (default): they go out at the end of the datagram batch, as MonaServer and Flash answer */
  ackDelayMs?: number;
  /** the far end's timestamp heard in the handshake (the responder's RIKeying), and when: echoed by the first
   *  packets as a later timestamp would be, so the responder has a round-trip sample from our first packet on,
   *  before it answers (RFC 7016 §2.2.4; Flash echoes its RIKeying's timestamp so) */
  handshakeTimestamp?: { timestamp: number; receivedAt: number };
}

/** Bytes held by receiving flows, shared by several sessions (the whole server). */
export interface BufferBudget {
  used: number;
  max: number;
}

export interface SessionStats {
  /** receiving flows dropped (Flow Exception) for holding more than the session's or server's buffer bound */
  droppedFlows: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  malformed: number;
  retransmissions: number;
}

interface ReceivingFlow {
  /** metadata option (type 0x00) the flow opened with, and the flow it answers (option 0x0a) */
  signature?: Uint8Array;
  associatedFlowId?: number;
  receiver: FlowReceiver;
  handler: FlowHandler | null;
  /** its state is what the session obeys: `done` (complete, or closed after a rejection) retires the flow */
  actor: Actor<typeof flowMachine>;
}

const PING_CHUNK = Uint8Array.of(CHUNK.PING, 0, 0);
/** payload of a mobility ping: 'M' and 8 bytes of MAC */
const MOBILITY_TOKEN_SIZE = 9;
const CLOSE_CHUNK = Uint8Array.of(CHUNK.CLOSE, 0, 0);
const CLOSE_ACK_CHUNK = Uint8Array.of(CHUNK.CLOSE_ACK, 0, 0);
/** Finished flows remembered so retransmitted fragments are re-acked rather than reopening them. */
const MAX_FINISHED_FLOWS = 64;
/** Receiving flows open at once: beyond this a new flow is refused (Flow Exception) without keeping any state. */
export const MAX_FLOWS = 256;
/** Bound on control chunks waiting for the next flush (ping replies, exceptions): a flood cannot grow it. */
export const MAX_CONTROL_BYTES = 8 * 1024;
/** Bytes one session's receiving flows may hold (out of order, or a message being reassembled): each flow may
 *  hold up to 8 MiB alone (flow/receiver.ts), 256 of them 2 GiB; past this the flow that grew it is dropped. */
export const MAX_SESSION_BUFFERED = 16 * 1024 * 1024;

// An idle session holds none of these: control chunks get a writer while they wait for a flush, finished flows a
// map from the first one (10,000 idle sessions, bench/README.md), and every session builds packets in one buffer.
const NO_CONTROL = new ByteWriter(1);
const NO_FINISHED_FLOWS = new Map<number, FlowReceiver>();
const PACKET = new ByteWriter(1280);
/** sendingOrder's lists and emit's last fragment written, shared like PACKET: nothing allocated per packet */
const CRITICAL_SCRATCH: FlowWriter[] = [];
const OTHERS_SCRATCH: FlowWriter[] = [];
let ordering = false;
const PREVIOUS_FRAGMENT = { flowId: -1, seq: -1 };

export class Session implements WriterHost {
  readonly role: 'initiator' | 'responder';
  readonly nearId: number;
  farId: number;
  address: Endpoint;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly actor: Actor<typeof sessionMachine>;
  private readonly key: number;
  readonly stats: SessionStats = {
    droppedFlows: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformed: 0,
    retransmissions: 0,
  };
  readonly giveUpMs: number;
  /** the congestion window and retransmission timeout all writers of this session share (RFC 7016 §3.5.2) */
  readonly congestion: Congestion;
  /** @internal read by the keyingTimeout delay */
  readonly keyingTimeoutMs: number;
  peerId: Uint8Array | undefined;
  lastReceptionTime: number;
  /** smoothed round trip time in ms (0 until measured) */
  srtt = 0;
  private rttvar = 0;
  private measured = false;

  private readonly cipher: PacketCipher;
  private readonly transport: SessionTransport;
  /** @internal */
  readonly delegate: SessionDelegate;
  /** @internal read by the keepAlive delay */
  readonly keepAliveMs: number;
  private timeout: number | undefined;
  private readonly peerTimeoutMs: number | undefined;

  /** silence after which the session fails: the application's (onConnection's `timeout`), else `[RTMFP] timeout` */
  get timeoutMs(): number | undefined {
    return this.timeout ?? this.peerTimeoutMs;
  }

  set timeoutMs(ms: number | undefined) {
    this.timeout = ms;
    this.actor.send({ type: 'REARM' });
  }

  /** @internal silence before the first keepalive ping: early enough for a few pings before the timeout */
  get quietMs(): number {
    const timeout = this.timeoutMs;
    return timeout === undefined ? this.keepAliveMs : Math.min(this.keepAliveMs, Math.floor((timeout * 3) / 4));
  }

  /** @internal time to the next keepalive ping: the ping interval, or less when the timeout comes first */
  get pingIntervalMs(): number {
    const timeout = this.timeoutMs;
    if (timeout === undefined) return PING_INTERVAL_MS;
    const left = timeout - (this.clock.now() - this.lastReceptionTime);
    return Math.max(50, Math.min(PING_INTERVAL_MS, left));
  }
  private readonly flows = new Map<number, ReceivingFlow>();
  /** bytes held by the receiving flows, and the bounds on it */
  bufferedBytes = 0;
  private readonly maxBufferedBytes: number;
  private readonly sharedBuffer: BufferBudget | undefined;
  private readonly timeCritical: TimeCriticalReception;
  /** a time-critical writer put a fragment in the packet being filled (its TC flag) */
  private packetTimeCritical = false;
  private finishedFlows: Map<number, FlowReceiver> = NO_FINISHED_FLOWS;
  private readonly writers = new Map<number, FlowWriter>();
  private nextWriterId = 1;
  private control = NO_CONTROL;
  private lastTimestamp: number | undefined;
  private lastTimestampAt = 0;
  private lastEchoReceived = -1;
  private flushScheduled = false;
  /** Packets with user data received since our last acknowledgement (§3.6.3.4.4: ack at least every second one). */
  private dataPacketsUnacked = 0;
  /** A fragment came out of order, twice or final, or a buffer probe: acknowledge with the next packet out. */
  private ackUrgent = false;
  /** Set while the packet just received is answered: its acks may wait for the end of the datagram batch. */
  private holdAcks = false;
  private readonly ackDelayMs: number;
  /** the delayed-ack deadline, armed by a lone data packet whose acks wait (ackDelayMs > 0) */
  private delayedAck: unknown;
  /** where the packet being processed came from */
  private from: Endpoint | undefined;
  /** key of the mobility challenges (created on the first one), moves made so far, the last candidate probed */
  private mobilitySecret: Uint8Array | undefined;
  private moves = 0;
  private lastProbe: { host: string; port: number; at: number } | undefined;
  private ended = false;
  /** @internal */
  closeReason = '';
  /** why receiveDatagram last returned false: the session had ended, the packet did not decrypt, or did not parse */
  dropCause: 'ended' | 'decrypt' | 'packet' | undefined;
  /** the packet being built: one buffer for every session, since a flush is synchronous and what it built is
   *  sealed (copied) before anything else can run */
  private get packet(): ByteWriter {
    return PACKET;
  }
  private writerCursor = 0;

  constructor(options: SessionOptions) {
    this.role = options.role;
    this.nearId = options.nearId;
    this.farId = options.farId;
    this.address = options.address;
    this.cipher = options.cipher;
    this.transport = options.transport;
    this.delegate = options.delegate;
    this.clock = options.clock;
    this.logger = options.logger;
    this.keepAliveMs = options.keepAliveMs;
    this.giveUpMs = options.giveUpMs ?? WRITER_GIVE_UP_MS;
    this.peerTimeoutMs = options.peerTimeoutMs;
    this.ackDelayMs = options.ackDelayMs ?? 0;
    this.keyingTimeoutMs = options.keyingTimeoutMs ?? KEYING_TIMEOUT_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_SESSION_BUFFERED;
    this.sharedBuffer = options.sharedBuffer;
    this.timeCritical = options.timeCritical ?? new TimeCriticalReception();
    this.peerId = options.peerId;
    if (options.handshakeTimestamp) {
      this.lastTimestamp = options.handshakeTimestamp.timestamp;
      this.lastTimestampAt = options.handshakeTimestamp.receivedAt;
    }
    this.lastReceptionTime = this.clock.now();
    this.congestion = new Congestion(this.lastReceptionTime);
    this.tracing = this.logger.isLevelEnabled('trace');
    this.key = sessionBindings.bind(this);
    this.actor = createActor(
      boundSessionMachine,
      inSystem(this.clock, observe('session', this.nearId), { key: this.key, maxPings: options.maxPings ?? MAX_PINGS }),
    );
    this.actor.subscribe({
      error: (error) => this.logger.error({ err: error, code: errorCode(error) }, 'session actor error'),
    });
    this.actor.start();
  }

  get state(): string {
    const value = this.actor.getSnapshot().value;
    return typeof value === 'string' ? value : Object.keys(value)[0]!;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** a packet under the session keys has arrived: the actor has left `keying` */
  get keyed(): boolean {
    return this.actor.getSnapshot().value !== 'keying';
  }

  /** Accepting user data and writes: keyed or open, not closing, failed or closed. */
  get usable(): boolean {
    const state = this.state;
    return state === 'open' || state === 'keying';
  }

  /** Effective retransmission timeout, ERTO (RFC 7016 §3.5.2.2): SRTT + 4·RTTVAR + 200 ms, at least 250 ms, 3 s
   *  before a sample, backed off ×√2 per timeout up to 10 s until the next sample. */
  rto(): number {
    return this.congestion.erto;
  }

  /** A datagram for this session (already matched by session id). Returns false when it was dropped. */
  receiveDatagram(datagram: Uint8Array, from: Endpoint): boolean {
    if (this.ended) {
      this.dropCause = 'ended';
      return false;
    }
    const cleartext = this.cipher.open(datagram);
    if (cleartext === null) {
      this.stats.malformed++;
      this.dropCause = 'decrypt';
      return false;
    }
    try {
      this.receive(cleartext, from, datagram.length);
      return true;
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.stats.malformed++;
      this.dropCause = 'packet';
      this.logger.debug({ err: error.message, code: error.code }, 'malformed packet dropped');
      return false;
    }
  }

  private receive(cleartext: Uint8Array, from: Endpoint, size: number): void {
    const header = readPacketHeader(cleartext);
    const chunks = decodeChunks(cleartext, header.chunksOffset);
    const now = this.clock.now();
    this.stats.packetsIn++;
    this.stats.bytesIn += size;
    this.lastReceptionTime = now;
    if (header.timestamp !== undefined) {
      this.lastTimestamp = header.timestamp;
      this.lastTimestampAt = now;
    }
    if (header.timestampEcho !== undefined && header.timestampEcho !== this.lastEchoReceived) {
      this.lastEchoReceived = header.timestampEcho;
      this.sampleRtt(((timestampNow(now) - header.timestampEcho) & 0xffff) * 4);
    }
    if (header.flags & PACKET_FLAG.TCR) this.congestion.onTimeCriticalReverse(now);
    if (header.flags & PACKET_FLAG.TC) this.timeCritical.received(this, now);
    this.from = from;
    if (from.host !== this.address.host || from.port !== this.address.port) this.checkMobility(from);
    // the actor's state says what a packet means to the session: the first one keys it, one after silence ends the pinging
    const value = this.actor.getSnapshot().value;
    if (value === 'keying') this.actor.send({ type: 'KEYED' });
    else if (typeof value === 'object' && (value as { open?: { liveness?: string } }).open?.liveness === 'pinging') {
      this.actor.send({ type: 'HEARD' });
    }
    if (this.tracing) this.traceChunks('in', header.flags, chunks);
    const congestion = this.congestion;
    congestion.beginPacket();
    let userData = false;
    for (const chunk of chunks) {
      if (this.ended) return;
      if (chunk.type === CHUNK.USER_DATA) userData = true;
      this.onChunk(chunk);
    }
    if (congestion.acksThisPacket) this.countNaks(now);
    if (userData) this.dataPacketsUnacked++;
    // Delayed acknowledgement: the acks of one data packet ride on whatever leaves now, or go out once the
    // datagrams already received are processed (scheduleFlush), which halves the ack packets of a receiver.
    this.holdAcks = !this.ackUrgent && this.dataPacketsUnacked < ACK_EVERY_DATA_PACKETS;
    this.flush();
    if (this.holdAcks) {
      this.holdAcks = false;
      if (this.acksPending()) {
        if (this.ackDelayMs > 0) this.delayAcks();
        else this.scheduleFlush();
      }
    }
  }

  /**
   * The acks of one data packet wait for a second one, a packet leaving anyway, or the delayed-ack timer. The
   * timer is a deadline, not cancelled when acks leave earlier: one timer per delay period at most, instead of a
   * set and a clear for every other packet of a stream; firing with nothing to acknowledge sends nothing.
   */
  private delayAcks(): void {
    if (this.delayedAck !== undefined) return;
    this.delayedAck = this.clock.setTimeout(() => {
      this.delayedAck = undefined;
      if (!this.ended && this.acksPending()) this.flush();
    }, this.ackDelayMs);
  }

  /** After a packet with acknowledgements: negative acknowledgements, losses, and the window (RFC 7016 §3.6.2.5). */
  private countNaks(now: number): void {
    const outcome: NakOutcome = { lostBytes: 0, naked: false };
    const maxTsnAck = this.congestion.maxTsnAck;
    if (maxTsnAck > 0) for (const writer of this.writers.values()) writer.countNaks(maxTsnAck, outcome);
    this.congestion.endPacket(outcome, now);
  }

  /** trace-level packet logging, decided once: a disabled level costs one boolean test per packet */
  private readonly tracing: boolean;

  private traceChunks(direction: 'in' | 'out', flags: number, chunks: Chunk[]): void {
    this.logger.trace(
      {
        direction,
        flags: flags.toString(16),
        chunks: chunks.map((c) =>
          c.type === CHUNK.USER_DATA
            ? `10 flow=${(c as UserDataChunk).flowId} seq=${(c as UserDataChunk).sequence} flags=${(c as UserDataChunk).flags.toString(16)} ${(c as UserDataChunk).data.length}B`
            : c.type === CHUNK.ACK_RANGES
              ? `51 flow=${(c as Extract<Chunk, { type: 0x51 }>).flowId} ack=${(c as Extract<Chunk, { type: 0x51 }>).cumulativeAck}`
              : c.type.toString(16).padStart(2, '0'),
        ),
      },
      'packet',
    );
  }

  private onChunk(chunk: Chunk): void {
    switch (chunk.type) {
      case CHUNK.USER_DATA:
        this.onUserData(chunk as UserDataChunk);
        break;
      case CHUNK.ACK_RANGES: {
        const ack = chunk as Extract<Chunk, { type: 0x51 }>;
        this.writers.get(ack.flowId)?.onAck(ack.cumulativeAck, ack.ranges, ack.bufferBlocks);
        break;
      }
      case CHUNK.PING: {
        const payload = (chunk as Extract<Chunk, { type: 0x01 | 0x41 }>).payload;
        const reply = new ByteWriter(3 + payload.length);
        writeChunk(reply, { type: CHUNK.PING_REPLY, payload });
        this.queueControl(reply.view_(), false);
        break;
      }
      case CHUNK.PING_REPLY:
        this.onPingReply((chunk as Extract<Chunk, { type: 0x01 | 0x41 }>).payload);
        break;
      case CHUNK.BUFFER_PROBE: {
        const flow = this.flows.get((chunk as Extract<Chunk, { type: 0x18 }>).flowId);
        if (flow) {
          flow.receiver.ackNeeded = true;
          this.ackUrgent = true;
        }
        break;
      }
      case CHUNK.FLOW_EXCEPTION: {
        const exception = chunk as Extract<Chunk, { type: 0x5e }>;
        this.writers.get(exception.flowId)?.onException(exception.code);
        break;
      }
      case CHUNK.CLOSE:
        this.actor.send({ type: 'FAR_CLOSE' });
        break;
      case CHUNK.CLOSE_ACK:
        this.actor.send({ type: 'FAR_CLOSE_ACK' });
        break;
      case CHUNK.FIHELLO:
        this.delegate.onForwardedHello?.(this, chunk as FIHelloChunk);
        break;
      default:
        // startup chunks in a session packet and unknown types are ignored (RFC 7016 §2.3)
        break;
    }
  }

  private onUserData(chunk: UserDataChunk): void {
    let flow = this.flows.get(chunk.flowId);
    if (!flow) {
      const finished = this.finishedFlows.get(chunk.flowId);
      if (finished) {
        finished.ackNeeded = true; // a retransmission of a flow already complete: ack it again
        this.ackUrgent = true;
        return;
      }
      if (!this.usable) return;
      if (this.flows.size >= MAX_FLOWS) {
        this.queueException(chunk.flowId);
        return;
      }
      flow = this.openFlow(chunk);
    }
    const receiver = flow.receiver;
    const before = receiver.bufferedBytes;
    receiver.onFragment(chunk);
    if (receiver.ackUrgent) this.ackUrgent = true;
    const grown = receiver.bufferedBytes - before;
    if (grown !== 0 && !this.ended) {
      this.bufferedBytes += grown;
      const shared = this.sharedBuffer;
      if (shared) shared.used += grown;
      if (grown > 0 && (this.bufferedBytes > this.maxBufferedBytes || (shared !== undefined && shared.used > shared.max))) {
        this.dropFlow(chunk.flowId, flow);
        return;
      }
    }
    if (flow.receiver.finished && flow.actor.getSnapshot().status === 'active') {
      flow.actor.send({ type: 'FINISHED' });
      flow.handler?.onEnd?.();
    }
  }

  private openFlow(chunk: UserDataChunk): ReceivingFlow {
    let signature: Uint8Array | undefined;
    let associatedFlowId: number | undefined;
    for (const option of chunk.options ?? []) {
      // a copy: a view would keep the whole packet it came in for the life of the flow
      if (option.type === 0x00) signature = option.value.slice();
      else if (option.type === 0x0a) {
        const id = decodeVLU(option.value);
        if (id >= 0) associatedFlowId = id;
      }
    }
    const opening: FlowOpening = { flowId: chunk.flowId, signature, associatedFlowId };
    const handler = chunk.options === null ? null : this.delegate.onFlow(this, opening);
    const receiver = new FlowReceiver(chunk.flowId, (message, info) => {
      if (flow.handler && !this.ended) flow.handler.onMessage(message, info.lostBefore);
    });
    const options = inSystem(this.clock, observe('flow', `${this.nearId}.${chunk.flowId}`), {
      kind: describeSignature(signature),
    } satisfies FlowInput);
    const actor = createActor(flowMachine, options);
    // the flow machine has no actions of ours, so nothing in it can throw; in the shared system an error would
    // only reach the inert root, and a subscription per flow (observer, three bound functions) is not worth it
    if (!options.parent) {
      actor.subscribe({ error: (error) => this.logger.error({ err: error, code: errorCode(error) }, 'flow actor error') });
    }
    actor.start();
    const flow: ReceivingFlow = { signature, associatedFlowId, receiver, handler, actor };
    this.flows.set(chunk.flowId, flow);
    if (!handler) {
      actor.send({ type: 'REJECT', reason: signature ? 'unknown metadata' : 'no metadata' });
      this.queueException(chunk.flowId);
    }
    return flow;
  }

  /** A flow over the buffer bounds: its bytes released, a Flow Exception sent, later fragments ignored. */
  private dropFlow(flowId: number, flow: ReceivingFlow): void {
    this.release(flow.receiver);
    flow.receiver.close();
    this.flows.delete(flowId);
    flow.actor.send({ type: 'CLOSE' });
    this.rememberFinished(flowId, flow.receiver);
    this.stats.droppedFlows++;
    this.logger.debug({ flow: flowId, buffered: this.bufferedBytes }, 'receiving flow dropped: buffer bound');
    this.queueException(flowId);
  }

  /** What a receiver holds no longer counts against the session's and server's budgets. */
  private release(receiver: FlowReceiver): void {
    const held = receiver.bufferedBytes;
    if (held === 0) return;
    this.bufferedBytes -= held;
    if (this.sharedBuffer) this.sharedBuffer.used -= held;
  }

  private rememberFinished(flowId: number, receiver: FlowReceiver): void {
    if (this.finishedFlows === NO_FINISHED_FLOWS) this.finishedFlows = new Map();
    this.finishedFlows.set(flowId, receiver);
    if (this.finishedFlows.size > MAX_FINISHED_FLOWS) {
      const oldest = this.finishedFlows.keys().next().value as number;
      this.finishedFlows.delete(oldest);
    }
  }

  private queueException(flowId: number): void {
    const exception = new ByteWriter(8);
    writeChunk(exception, { type: CHUNK.FLOW_EXCEPTION, flowId, code: 0 });
    this.queueControl(exception.view_(), false);
  }

  /** Open a sending flow. `signature` is the metadata option value ("TC\x04\x00" for the NetConnection). */
  newWriter(signature: Uint8Array, associatedFlowId: number | undefined, reliable = true): FlowWriter {
    let id = this.nextWriterId;
    while (this.writers.has(id)) id++;
    this.nextWriterId = id + 1;
    const writer = new FlowWriter(this, id, signature, associatedFlowId, reliable);
    this.writers.set(id, writer);
    return writer;
  }

  writer(id: number): FlowWriter | undefined {
    return this.writers.get(id);
  }

  onWriterClosed(writer: FlowWriter): void {
    this.writers.delete(writer.id);
  }

  onWriterFailed(writer: FlowWriter, reason: string): void {
    // a writer the session already let go (abandoned because the session failed or closed) fails nothing more
    if (!this.writers.delete(writer.id)) return;
    if (writer.critical && !this.ended) this.fail(`main writer failed: ${reason}`);
  }

  /** Every writer ends abandoned (its actor in a final state), the session holding none of them any more. */
  private abandonWriters(reason: string): void {
    const writers = [...this.writers.values()];
    this.writers.clear();
    for (const writer of writers) writer.abandon(reason);
  }

  scheduleFlush(): void {
    if (this.flushScheduled || this.ended) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Orderly close (Close Request, repeated until acknowledged). */
  close(reason = 'closed'): void {
    if (this.ended) return;
    this.closeReason = reason;
    this.actor.send({ type: 'CLOSE', reason });
  }

  fail(reason: string): void {
    if (this.ended) return;
    this.closeReason = reason;
    this.actor.send({ type: 'FAIL', reason });
  }

  /** End at once without protocol traffic (server shutdown after close requests, tests). */
  kill(reason = 'killed'): void {
    if (this.ended) return;
    this.closeReason = reason;
    stopActor(this.actor);
    this.onClosed(reason);
  }

  /** @internal machine action */
  sendPing(): void {
    this.queueControl(PING_CHUNK, true);
  }

  /** @internal machine action */
  queueControl(chunk: Uint8Array, flushNow: boolean): void {
    if (this.control.length + chunk.length > MAX_CONTROL_BYTES) return;
    if (this.control === NO_CONTROL) this.control = new ByteWriter(64);
    this.control.write(chunk);
    if (flushNow) this.flush();
  }

  /** @internal machine action */
  onFailed(reason: string): void {
    this.logger.info({ reason }, 'session failed');
    this.abandonWriters(`session failed: ${reason}`);
    this.delegate.onFailed?.(this, reason);
  }

  /** @internal machine action */
  onClosed(reason: string): void {
    if (this.ended) return;
    sessionBindings.unbind(this.key);
    // last words (close ack, close request) go out before the session forgets its keys
    this.flush();
    this.ended = true;
    if (this.delayedAck !== undefined) this.clock.clearTimeout(this.delayedAck);
    this.delayedAck = undefined;
    // writers and flows end with their session: their actors are stopped, as XState stops a parent's children
    // (stop() calls nothing back here, so the map is read as it is)
    for (const writer of this.writers.values()) writer.stop();
    this.writers.clear();
    for (const flow of this.flows.values()) {
      this.release(flow.receiver);
      flow.receiver.close();
      if (flow.actor.getSnapshot().status === 'active') stopActor(flow.actor);
    }
    this.flows.clear();
    this.finishedFlows.clear();
    this.delegate.onClosed(this, reason);
  }

  private sampleRtt(rtt: number): void {
    if (rtt >= 32768 * 4) return;
    if (!this.measured) {
      this.measured = true;
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = (1 - RTTVAR_GAIN) * this.rttvar + RTTVAR_GAIN * Math.abs(this.srtt - rtt);
      this.srtt = (1 - SRTT_GAIN) * this.srtt + SRTT_GAIN * rtt;
    }
    this.congestion.onRtt(this.srtt, this.rttvar);
  }

  /** Pack control chunks, acks and writer data into as many packets as needed and send them. */
  flush(): void {
    for (let guard = 0; guard < 1024; guard++) {
      const packet = this.packet;
      packet.reset();
      const now = this.clock.now();
      let echo: number | undefined;
      if (this.lastTimestamp !== undefined && now - this.lastTimestampAt < 30_000) {
        echo = (this.lastTimestamp + Math.floor((now - this.lastTimestampAt) / 4)) & 0xffff;
      }
      const mode = this.role === 'initiator' ? MODE.INITIATOR : MODE.RESPONDER;
      // TCR: another session of this endpoint is receiving media (§3.5.2.1); TC is added below if this packet carries some
      writePacketHeader(packet, mode, timestampNow(now), echo, this.timeCritical.fromOthers(this, now) ? PACKET_FLAG.TCR : 0);
      const headerLength = packet.length;
      if (this.control.length > 0) {
        packet.write(this.control.view_());
        this.control = NO_CONTROL;
      }
      const holdAcks = this.holdAcks;
      if (!holdAcks) this.writeAcks(packet);
      const dataAt = packet.length;
      let more = false;
      this.packetTimeCritical = false;
      if (!this.ended && this.writers.size > 0) {
        const previous = PREVIOUS_FRAGMENT;
        previous.flowId = -1;
        previous.seq = -1;
        if (this.sendingOrder()) more = true;
        this.writerCursor++;
      }
      const carriesData = packet.length > dataAt;
      if (holdAcks && packet.length > headerLength) this.writeAcks(packet);
      if (packet.length === headerLength) return;
      // fragments written from here on left in the next packet (negative acknowledgements count packets)
      if (carriesData) {
        this.congestion.tsn++;
        this.congestion.onDataPacket();
      }
      if (this.packetTimeCritical) packet.view_()[0]! |= PACKET_FLAG.TC;
      this.send(packet.view_());
      if (!more && (holdAcks || !this.acksPending())) return;
    }
  }

  /** The writers fill the packet in turn: time-critical ones (media) first, each class taking turns from packet
   *  to packet (RFC 7016 §3.5.2.1: time-critical data keeps its priority under congestion). True when one has
   *  more to send. The class lists are shared (CRITICAL_SCRATCH): this runs for every packet sent. */
  private sendingOrder(): boolean {
    const reentered = ordering;
    const critical = reentered ? [] : CRITICAL_SCRATCH;
    const others = reentered ? [] : OTHERS_SCRATCH;
    critical.length = 0;
    others.length = 0;
    for (const writer of this.writers.values()) (writer.timeCritical ? critical : others).push(writer);
    ordering = true;
    try {
      const before = this.packet.length;
      const moreCritical = this.emitInTurn(critical);
      if (this.packet.length > before) this.packetTimeCritical = true;
      return this.emitInTurn(others) || moreCritical;
    } finally {
      ordering = reentered;
      if (!reentered) {
        critical.length = 0;
        others.length = 0;
      }
    }
  }

  private emitInTurn(writers: FlowWriter[]): boolean {
    const n = writers.length;
    const start = n < 2 ? 0 : this.writerCursor % n;
    let more = false;
    for (let k = 0; k < n; k++) {
      const writer = writers[(start + k) % n]!;
      if (writer.closed) continue;
      if (writer.emit(this.packet, MAX_PACKET_CLEARTEXT, PREVIOUS_FRAGMENT)) more = true;
    }
    return more;
  }

  private acksPending(): boolean {
    for (const flow of this.flows.values()) if (flow.receiver.ackNeeded) return true;
    for (const receiver of this.finishedFlows.values()) if (receiver.ackNeeded) return true;
    return false;
  }

  private writeAcks(packet: ByteWriter): void {
    this.dataPacketsUnacked = 0;
    this.ackUrgent = false;
    for (const flow of this.flows.values()) {
      if (!flow.receiver.ackNeeded) continue;
      if (packet.length + 64 > MAX_PACKET_CLEARTEXT) return;
      flow.receiver.writeAck(packet);
      if (flow.actor.getSnapshot().status === 'done') {
        // complete (or rejected and finished) and acknowledged: forget it, but remember its id for late retransmissions
        const id = flow.receiver.id;
        this.flows.delete(id);
        this.release(flow.receiver);
        flow.receiver.close();
        this.rememberFinished(id, flow.receiver);
      }
    }
    for (const receiver of this.finishedFlows.values()) {
      if (!receiver.ackNeeded) continue;
      if (packet.length + 64 > MAX_PACKET_CLEARTEXT) return;
      receiver.writeAck(packet);
    }
  }

  /**
   * A valid packet from another address (RFC 7016 §3.5.4.2): keep talking to the known address and send a ping
   * with an unguessable payload to the new one; the session moves only when that payload is echoed from there.
   * The payload is stateless, a MAC of the candidate address and of how many moves the session has made, so
   * nothing an attacker replays can overwrite a pending check (each candidate has its own challenge), and a
   * reply captured before a move is worthless after it. A replayed packet from a spoofed source therefore
   * cannot take the session away, nor keep it from following a real move.
   */
  private checkMobility(from: Endpoint): void {
    const now = this.clock.now();
    const last = this.lastProbe;
    // one probe per candidate per 500 ms: a burst of packets from the new address asks once
    if (last && last.host === from.host && last.port === from.port && now - last.at < 500) return;
    this.lastProbe = { host: from.host, port: from.port, at: now };
    const packet = new ByteWriter(32);
    writePacketHeader(packet, this.role === 'initiator' ? MODE.INITIATOR : MODE.RESPONDER, timestampNow(now));
    writeChunk(packet, { type: CHUNK.PING, payload: this.mobilityToken(from) });
    this.sendTo(packet.view_(), from);
  }

  /** 'M' and 8 bytes of HMAC(session secret, moves | host | port). */
  private mobilityToken(to: Endpoint): Uint8Array {
    this.mobilitySecret ??= randomBytes(32);
    const mac = createHmac('sha256', this.mobilitySecret).update(`${this.moves}|${to.host}|${to.port}`).digest();
    const token = new Uint8Array(MOBILITY_TOKEN_SIZE);
    token[0] = 0x4d; // 'M'
    token.set(mac.subarray(0, MOBILITY_TOKEN_SIZE - 1), 1);
    return token;
  }

  private onPingReply(payload: Uint8Array): void {
    const from = this.from;
    if (!from || payload.length !== MOBILITY_TOKEN_SIZE || payload[0] !== 0x4d || this.mobilitySecret === undefined) return;
    if (from.host === this.address.host && from.port === this.address.port) return;
    if (!equalBytes(payload, this.mobilityToken(from))) return;
    this.moves++;
    this.lastProbe = undefined;
    this.actor.send({ type: 'ADDRESS_CHANGED', host: from.host, port: from.port });
  }

  /** @internal machine action: an open session follows its peer to the address that answered the check */
  moveTo(to: Endpoint): void {
    const previous = this.address;
    this.address = { host: to.host, port: to.port };
    this.delegate.onAddressChanged?.(this, previous);
  }

  private send(cleartext: Uint8Array): void {
    this.sendTo(cleartext, this.address);
  }

  private sendTo(cleartext: Uint8Array, to: Endpoint): void {
    if (this.tracing) this.traceChunks('out', cleartext[0]!, decodeChunks(cleartext, readPacketHeader(cleartext).chunksOffset));
    const datagram = this.cipher.seal(this.farId, cleartext);
    this.stats.packetsOut++;
    this.stats.bytesOut += datagram.length;
    this.transport.send(datagram, to);
  }

  /** Flows and writers, for the inspector and tests. */
  /** Receiving flows and writers as they are, for the inspector. */
  inspect(): { flows: Array<Readonly<ReceivingFlow> & { id: number }>; writers: FlowWriter[] } {
    return {
      flows: [...this.flows].map(([id, flow]) => ({ id, ...flow })),
      writers: [...this.writers.values()],
    };
  }

  describe(): { flows: number[]; writers: Array<{ id: number; state: string }> } {
    return {
      flows: [...this.flows.keys()],
      writers: [...this.writers.values()].map((w) => ({ id: w.id, state: w.state })),
    };
  }
}

const TC_PREFIX = Uint8Array.of(0x54, 0x43);
const GC = Uint8Array.of(0x47, 0x43);

function describeSignature(signature: Uint8Array | undefined): string {
  if (!signature) return 'unknown';
  if (signature.length >= 2 && equalBytes(signature.subarray(0, 2), TC_PREFIX)) {
    return signature.length >= 4 && signature[3] === 0 ? 'NetConnection' : 'NetStream';
  }
  if (equalBytes(signature, GC)) return 'NetGroup';
  return 'unknown';
}

const sessionBindings = new Bindings<Session>();

const boundSessionMachine = sessionMachine.provide({
  actions: {
    opened: ({ context }) => {
      const session = sessionBindings.get(context.key);
      session?.delegate.onOpened?.(session);
    },
    sendPing: ({ context }) => sessionBindings.get(context.key)?.sendPing(),
    sendClose: ({ context }) => sessionBindings.get(context.key)?.queueControl(CLOSE_CHUNK, true),
    sendCloseAck: ({ context }) => sessionBindings.get(context.key)?.queueControl(CLOSE_ACK_CHUNK, true),
    changeAddress: ({ context, event }) => {
      const move = event as Extract<SessionEvent, { type: 'ADDRESS_CHANGED' }>;
      sessionBindings.get(context.key)?.moveTo({ host: move.host, port: move.port });
    },
    notifyFailed: ({ context }) => sessionBindings.get(context.key)?.onFailed(context.reason),
    closed: ({ context }) => {
      const session = sessionBindings.get(context.key);
      session?.onClosed(context.reason || session.closeReason);
    },
  },
  guards: {
    silent: ({ context }) => {
      const session = sessionBindings.get(context.key);
      return !!session && session.clock.now() - session.lastReceptionTime >= session.quietMs - 5;
    },
    unanswered: ({ context }) => {
      if (context.pings >= context.maxPings) return true;
      const session = sessionBindings.get(context.key);
      return session?.timeoutMs !== undefined && session.clock.now() - session.lastReceptionTime >= session.timeoutMs - 5;
    },
  },
  delays: {
    keyingTimeout: ({ context }) => sessionBindings.get(context.key)?.keyingTimeoutMs ?? KEYING_TIMEOUT_MS,
    pingInterval: ({ context }) => sessionBindings.get(context.key)?.pingIntervalMs ?? PING_INTERVAL_MS,
    keepAlive: ({ context }) => {
      const session = sessionBindings.get(context.key);
      if (!session) return 60_000;
      return Math.max(50, session.quietMs - (session.clock.now() - session.lastReceptionTime));
    },
  },
});
