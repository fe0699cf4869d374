// The sending side of a flow (RFC 7016 §3.6.2, RTMFP.md §4.2–4.8): message queue, fragmentation at
// packing time, ack bookkeeping, loss detection and retransmission. Plain code, called per packet; the
// writer actor (machines/writer.ts) only hears about lifecycle changes.
import { createActor, type Actor } from 'xstate';
import { writerMachine } from '../../../../machines/writer.ts';
import type { Clock } from '../../../clock.ts';
import type { ByteWriter } from '../../../bytes.ts';
import { encodeVLU, vluLength } from '../../../bytes.ts';
import { observe } from '../../../actors/observe.ts';
import { inSystem, stopActor } from '../../../actors/system.ts';
import { Bindings } from '../../../actors/bindings.ts';
import type { Congestion, NakOutcome } from '../session/congestion.ts';
import { NAKS_FOR_LOSS, RETRANSMIT_JITTER } from '../params.ts';

export { RETRANSMIT_JITTER };

const FLAG_OPTIONS = 0x80;
const FLAG_BEGIN = 0x10;
const FLAG_END = 0x20;
const FLAG_ABANDON = 0x02;
const FLAG_FINAL = 0x01;

/** Room a fragment needs beyond its header before it is worth starting one in a packet. */
const MIN_FRAGMENT_DATA = 12;
/** Longest packet header (flags, timestamp, timestamp echo: RFC 7016 §2.2.4). A fragment is retransmitted with its
 *  original bytes, maybe in a packet whose header is longer than the first one's (an echo where there was none):
 *  it is sized to fit a packet with the longest header, or it could never be sent again. */
const MAX_PACKET_HEADER = 5;

export interface WriterHost {
  readonly clock: Clock;
  /** the session's own id: names the writer for the inspector ("writer:3.1" belongs to "session:3") */
  readonly nearId: number;
  readonly stats: { retransmissions: number };
  /** the session's congestion window, shared by all its writers (RFC 7016 §3.5.2) */
  readonly congestion: Congestion;
  /** Retransmission timeout in ms as the session currently estimates it, back-off included (RFC 7016 §3.5.2.2). */
  rto(): number;
  /** Ask the session to pack and send soon. */
  scheduleFlush(): void;
  onWriterClosed(writer: FlowWriter): void;
  onWriterFailed(writer: FlowWriter, reason: string): void;
  readonly giveUpMs: number;
  readonly actorSystem?: ActorOptionsLike;
}

export interface ActorOptionsLike {
  inspect?: (event: unknown) => void;
}

interface OutMessage {
  data: Uint8Array;
  reliable: boolean;
  offset: number;
  /** sequence number of its first fragment once started */
  started: boolean;
  /** when it was queued: media that waits too long is dropped by its listener (see unsentAge) */
  queuedAt: number;
}

interface Fragment {
  seq: number;
  flags: number;
  /** the whole message; the fragment is data[start, start + length). Offsets rather than a subarray: a fragment
   *  lives until acknowledged, long enough to be promoted to old space, and a view per fragment doubled that
   *  old-space garbage under relay load (issue 18) */
  data: Uint8Array;
  start: number;
  length: number;
  reliable: boolean;
  sentAt: number;
  /** the session's transmission sequence number of the packet it last left in: a fragment from a later packet
   *  acknowledged is a negative acknowledgement of this one (RFC 7016 §3.6.2.5) */
  tsn: number;
  /** negative acknowledgements since it was last sent; NAKS_FOR_LOSS of them and it is lost */
  naks: number;
  /** bytes it took in its packet (chunk header included): what it counts against the congestion window */
  size: number;
  transmissions: number;
  /** declared lost and waiting to be sent again: no longer outstanding */
  resend: boolean;
  /** a retransmission timeout declared it lost once: an ack of it may be for any of its transmissions (Karn) */
  timedOut: boolean;
}

export interface WriterStats {
  messagesQueued: number;
  fragmentsSent: number;
  retransmissions: number;
  lostFragments: number;
  droppedMessages: number;
  bytesSent: number;
}

export class FlowWriter {
  readonly id: number;
  readonly actor: Actor<typeof writerMachine>;
  private readonly key: number;
  /** metadata option value (type 0x00), e.g. "\0TC\x04\0" */
  readonly signature: Uint8Array;
  readonly associatedFlowId: number | undefined;
  reliable: boolean;
  /** carries time-critical data (audio, video): served before the session's other writers (RFC 7016 §3.5.2.1) */
  timeCritical = false;
  /** its failure or close ends the session (the NetConnection writer) */
  critical = false;
  /** bytes of unsent unreliable messages beyond which the oldest are dropped (slow receivers) */
  maxQueuedBytes = 4 * 1024 * 1024;
  readonly stats: WriterStats = {
    messagesQueued: 0,
    fragmentsSent: 0,
    retransmissions: 0,
    lostFragments: 0,
    droppedMessages: 0,
    bytesSent: 0,
  };

  private readonly host: WriterHost;
  private readonly queue: OutMessage[] = [];
  private queuedBytes = 0;
  private readonly inflight: Fragment[] = [];
  private inflightBytes = 0;
  private lastSeq = 0;
  private cumulativeAck = 0;
  private everAcked = false;
  private lastProgress: number;
  private optionsBytes: Uint8Array;
  private remoteBuffer = 64 * 1024;
  private ended = false;

  constructor(host: WriterHost, id: number, signature: Uint8Array, associatedFlowId: number | undefined, reliable: boolean) {
    this.host = host;
    this.id = id;
    this.signature = signature;
    this.associatedFlowId = associatedFlowId;
    this.reliable = reliable;
    this.lastProgress = host.clock.now();
    this.optionsBytes = encodeOptions(signature, associatedFlowId);
    this.key = writerBindings.bind(this);
    this.actor = createActor(boundWriterMachine, inSystem(host.clock, observe('writer', `${host.nearId}.${id}`), { key: this.key }));
    this.actor.subscribe({
      next: (snapshot) => void (this.current = String(snapshot.value)),
      error: (error) => host.onWriterFailed(this, `writer actor error: ${String(error)}`),
    });
    this.actor.start();
  }

  /** the actor's state, kept by a subscription: read per message, it changes only per transition */
  private current = 'idle';
  /** last time a message was queued: the writer reports idle only after a quiet second (see `drained`) */
  private lastWrite = 0;
  /** when the armed retransmitTick fires, and the RTO it was computed with (see `tickOutdated`) */
  private tickAt = Infinity;
  private tickRto = 0;

  /** when the retransmission tick armed last fires (tests) */
  get nextTickAt(): number {
    return this.tickAt;
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** close() was called: the actor is closing, nothing more is queued, the last fragment carries FIN */
  private get closing(): boolean {
    return this.current === 'closing';
  }

  get drained(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0;
  }

  /** @internal the machine's `drained` guard: a live stream between two messages is not idle (one actor event
   *  per tick, not two per media message), so a writer settles to idle only once nothing was written for the RTO
   *  its tick was armed with (at most a second). A command's answer, acknowledged within that RTO, settles at its
   *  first tick rather than a second later on a tick of its own: one timer and one event fewer per answer. */
  settled(): boolean {
    if (!this.drained) return false;
    return this.closing || this.host.clock.now() - this.lastWrite >= Math.min(QUIET_MS, this.tickRto);
  }

  /** what waits in this writer, for the inspector: messages not yet sent, fragments sent and not acknowledged */
  get backlog(): { queuedMessages: number; queuedBytes: number; inFlightFragments: number; inFlightBytes: number } {
    return {
      queuedMessages: this.queue.length,
      queuedBytes: this.queuedBytes,
      inFlightFragments: this.inflight.length,
      inFlightBytes: this.inflightBytes,
    };
  }

  get pendingBytes(): number {
    return this.queuedBytes + this.inflightBytes;
  }

  /** Queue one message. Unreliable messages may be dropped (counted) when the receiver is too slow. */
  write(data: Uint8Array, reliable = this.reliable): void {
    if (this.ended || this.closing) return;
    this.queue.push({ data, reliable, offset: 0, started: false, queuedAt: this.host.clock.now() });
    this.queuedBytes += data.length;
    this.stats.messagesQueued++;
    if (this.queuedBytes > this.maxQueuedBytes) this.dropStale();
    this.lastWrite = this.host.clock.now();
    this.host.scheduleFlush();
  }

  /** Orderly close: a final empty fragment with FIN once everything queued has gone. */
  close(): void {
    if (this.ended || this.closing) return;
    if (this.lastSeq === 0 && this.queue.length === 0) {
      // never sent anything: nothing for the receiver to close; the next tick finds it drained and closes
      this.actor.send({ type: 'CLOSE' });
      return;
    }
    this.queue.push({ data: new Uint8Array(0), reliable: true, offset: 0, started: false, queuedAt: this.host.clock.now() });
    this.actor.send({ type: 'CLOSE' });
    this.host.scheduleFlush();
  }

  /** The receiver rejected the flow (0x5e): stop at once. */
  onException(code: number): void {
    if (this.ended) return;
    this.actor.send({ type: 'EXCEPTION', code });
  }

  abandon(reason: string): void {
    if (this.ended) return;
    this.actor.send({ type: 'ABANDON', reason });
  }

  /** Its session ended: the writer ends with it, its actor stopped as XState stops a parent's children. */
  stop(): void {
    if (this.ended) return;
    this.finish();
    stopActor(this.actor);
  }

  /** How long the oldest message not yet sent has waited (0 when everything has left). */
  unsentAge(): number {
    const head = this.queue[0];
    return head === undefined ? 0 : this.host.clock.now() - head.queuedAt;
  }

  /**
   * Drop every queued message not started yet (the FIN excepted): they never took a sequence number, so the
   * receiver sees no gap, only media that never came. For media held back past its lifetime by a path that
   * cannot carry it (the caller resumes video at a key frame). Returns how many were dropped.
   */
  dropUnsent(): number {
    let dropped = 0;
    let kept = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const message = this.queue[i]!;
      if (!message.started && message.data.length > 0) {
        this.queuedBytes -= message.data.length;
        dropped++;
        continue;
      }
      this.queue[kept++] = message;
    }
    this.queue.length = kept;
    this.stats.droppedMessages += dropped;
    return dropped;
  }

  /**
   * Pack fragments into the packet being built, while the session's congestion window has room. Returns true
   * when the writer still has data it could send (the packet is full). `previous` tells whether the last chunk
   * in the packet is this writer's fragment `previous.seq` so a 0x11 continuation may be used.
   */
  emit(out: ByteWriter, limit: number, previous: { flowId: number; seq: number }): boolean {
    if (this.ended) return false;
    const now = this.host.clock.now();
    const more = this.pack(out, limit, previous, now);
    // whichever way packing ended (packet full, window closed, queue empty), data on the wire arms the tick
    if (this.current === 'idle' && this.inflight.length > 0) this.actor.send({ type: 'SENT' });
    else if (this.current === 'awaitingAck' && this.tickOutdated(now)) this.actor.send({ type: 'REARM' });
    return more;
  }

  private pack(out: ByteWriter, limit: number, previous: { flowId: number; seq: number }, now: number): boolean {
    const congestion = this.host.congestion;
    // retransmissions first, with their original sequence numbers and bytes
    for (const fragment of this.inflight) {
      if (!fragment.resend) continue;
      if (!congestion.open) return false;
      const before = out.length;
      if (!this.writeFragment(out, limit, fragment, previous)) return true;
      fragment.resend = false;
      fragment.sentAt = now;
      fragment.tsn = congestion.tsn;
      fragment.naks = 0;
      fragment.size = out.length - before;
      fragment.transmissions++;
      congestion.onSent(fragment.size, this.timeCritical, now);
      this.stats.retransmissions++;
      this.host.stats.retransmissions++;
    }
    while (this.queue.length > 0 && this.inflightBytes < this.window() && congestion.open) {
      const message = this.queue[0]!;
      const seq = this.lastSeq + 1;
      // sized for a full 0x10 header: a 0x11 continuation only leaves a few spare bytes
      const room = Math.min(limit - out.length, limit - MAX_PACKET_HEADER) - (3 + 1 + this.headerSize(seq));
      const left = message.data.length - message.offset;
      if (room < Math.min(left, MIN_FRAGMENT_DATA)) return true; // (room ≤ 0 with data left is among these)
      const size = Math.min(left, room);
      let flags = 0;
      if (message.offset > 0) flags |= FLAG_END; // has a before-part
      if (size < left) flags |= FLAG_BEGIN; // has an after-part
      if (message.data.length === 0 && this.closing && this.queue.length === 1) flags |= FLAG_FINAL | FLAG_ABANDON;
      const fragment: Fragment = {
        seq,
        flags,
        data: message.data,
        start: message.offset,
        length: size,
        reliable: message.reliable,
        sentAt: now,
        tsn: congestion.tsn,
        naks: 0,
        size: 0,
        transmissions: 1,
        resend: false,
        timedOut: false,
      };
      this.lastSeq = seq;
      const before = out.length;
      // always fits: `room` above is what is left after the longest fragment header
      this.writeFragment(out, limit, fragment, previous);
      fragment.size = out.length - before;
      congestion.onSent(fragment.size, this.timeCritical, now);
      message.offset += size;
      message.started = true;
      this.inflight.push(fragment);
      this.inflightBytes += size;
      this.stats.fragmentsSent++;
      this.stats.bytesSent += size;
      if (message.offset >= message.data.length) {
        this.queue.shift();
        this.queuedBytes -= message.data.length;
      }
    }
    return this.queue.length > 0 && this.inflightBytes < this.window() && congestion.open;
  }

  /**
   * The armed tick was computed with an RTO much longer than today's (the initial 3 s before the first round trip
   * sample, or a backed-off one) and data just left: without a re-arm a loss of it would wait for that old tick.
   */
  private tickOutdated(now: number): boolean {
    if (this.inflight.length === 0) return false;
    const rto = this.host.rto();
    return this.tickRto - rto > Math.max(REARM_MIN_SHRINK_MS, rto / 2) && now + rto < this.tickAt;
  }

  /**
   * A 0x51 for this flow (ranges are absolute [from, to] pairs above the cumulative ack). Acknowledged fragments
   * leave; nothing is declared lost here: the session counts negative acknowledgements once the whole packet
   * is read (`countNaks`), so a fragment is lost only after NAKS_FOR_LOSS later ones were acknowledged.
   */
  onAck(cumulativeAck: number, ranges: ReadonlyArray<readonly [number, number]>, bufferBlocks: number): void {
    if (this.ended) return;
    const congestion = this.host.congestion;
    congestion.onAckChunk();
    const now = this.host.clock.now();
    this.remoteBuffer = Math.max(bufferBlocks * 1024, 1200);
    let progress = false;
    if (cumulativeAck > this.cumulativeAck) {
      this.cumulativeAck = Math.min(cumulativeAck, this.lastSeq);
      progress = true;
    }
    let kept = 0;
    for (let i = 0; i < this.inflight.length; i++) {
      const fragment = this.inflight[i]!;
      if (fragment.seq <= this.cumulativeAck || inRanges(fragment.seq, ranges)) {
        this.inflightBytes -= fragment.length;
        // a fragment sent once, declared lost by the timer and not sent again was delivered by that one
        // transmission: the timeout was spurious. One resent after a timeout may be acknowledged for an earlier
        // transmission: its packet number says nothing about which later packets arrived, so it names no negative
        // acknowledgements.
        if (fragment.resend) {
          if (fragment.timedOut && fragment.transmissions === 1) congestion.onSpuriousTimeout();
        } else congestion.onAcked(fragment.size, fragment.timedOut ? 0 : fragment.tsn);
        progress = true;
        continue;
      }
      this.inflight[kept++] = fragment;
    }
    this.inflight.length = kept;
    if (progress) {
      if (!this.everAcked) {
        this.everAcked = true;
        this.optionsBytes = EMPTY; // startup options stop once the receiver has seen them
      }
      this.lastProgress = now;
      if (this.current === 'retransmitting') this.actor.send({ type: 'PROGRESS' });
    }
  }

  /**
   * After a packet with acknowledgements: every outstanding fragment that left in an earlier packet than one now
   * acknowledged gets a negative acknowledgement; at NAKS_FOR_LOSS it is lost (RFC 7016 §3.6.2.5): resent if
   * reliable, given up on (the forward sequence number moves past it) if not.
   */
  countNaks(maxTsnAck: number, outcome: NakOutcome): void {
    if (this.ended) return;
    let kept = 0;
    for (let i = 0; i < this.inflight.length; i++) {
      const fragment = this.inflight[i]!;
      if (!fragment.resend && fragment.tsn < maxTsnAck) {
        outcome.naked = true;
        if (++fragment.naks >= NAKS_FOR_LOSS) {
          outcome.lostBytes += fragment.size;
          if (fragment.reliable) {
            fragment.resend = true;
          } else {
            this.inflightBytes -= fragment.length;
            this.stats.lostFragments++;
            continue;
          }
        }
      }
      this.inflight[kept++] = fragment;
    }
    this.inflight.length = kept;
  }

  /** Timer side of reliability: anything outstanding for an ERTO is lost, resent (reliable) or given up on. */
  /** @internal machine implementation */
  retransmitDue(): void {
    const now = this.host.clock.now();
    const rto = this.host.rto();
    let any = false;
    let lostBytes = 0;
    let kept = 0;
    for (let i = 0; i < this.inflight.length; i++) {
      const fragment = this.inflight[i]!;
      if (!fragment.resend && now - fragment.sentAt >= rto) {
        lostBytes += fragment.size;
        if (fragment.reliable) {
          fragment.resend = true;
          fragment.timedOut = true;
          any = true;
        } else {
          this.inflightBytes -= fragment.length;
          this.stats.lostFragments++;
          continue;
        }
      }
      this.inflight[kept++] = fragment;
    }
    this.inflight.length = kept;
    if (lostBytes > 0) {
      this.host.congestion.onTimedOut(lostBytes, now);
    }
    if (any) this.host.scheduleFlush();
  }

  /** @internal machine implementation */
  retransmissionDue(): boolean {
    const now = this.host.clock.now();
    const rto = this.host.rto();
    return this.inflight.some((f) => !f.resend && now - f.sentAt >= rto);
  }

  /** @internal machine implementation */
  gaveUp(): boolean {
    return this.inflight.some((f) => f.reliable) && this.host.clock.now() - this.lastProgress >= this.host.giveUpMs;
  }

  /** @internal machine implementation */
  nextTick(): number {
    const now = this.host.clock.now();
    const rto = this.host.rto();
    this.tickRto = rto;
    if (this.inflight.length === 0) {
      this.tickAt = now + 1_000;
      return 1_000;
    }
    let earliest = Infinity;
    for (const f of this.inflight) if (!f.resend && f.sentAt < earliest) earliest = f.sentAt;
    // only fragments waiting for the window: look again in an ERTO (give-up is checked on the same tick)
    if (earliest === Infinity) earliest = now;
    // up to RETRANSMIT_JITTER of the RTO later: writers that lost together do not all resend in the same instant
    const delay = Math.max(10, Math.ceil(earliest + rto - now + rto * RETRANSMIT_JITTER * Math.random()));
    this.tickAt = now + delay;
    return delay;
  }

  private window(): number {
    return Math.min(Math.max(this.remoteBuffer, 1200), 1024 * 1024);
  }

  /** fsn for a fragment `seq` being sent: everything at or below it is delivered or abandoned (§4.2). */
  private forwardSequenceNumber(seq: number): number {
    // inflight stays in sequence order (appended in order, compacted in place), so its head is the lowest
    const head = this.inflight[0];
    const lowest = head !== undefined && head.seq < seq ? head.seq : seq;
    return Math.max(this.cumulativeAck, lowest - 1);
  }

  private headerSize(seq: number): number {
    const fsnOffset = seq - this.forwardSequenceNumber(seq);
    return vluLength(this.id) + vluLength(seq) + vluLength(fsnOffset) + this.optionsBytes.length;
  }

  private writeFragment(out: ByteWriter, limit: number, fragment: Fragment, previous: { flowId: number; seq: number }): boolean {
    const withOptions = this.optionsBytes.length > 0;
    const continuation = !withOptions && previous.flowId === this.id && previous.seq === fragment.seq - 1;
    const body = continuation ? 1 : 1 + this.headerSize(fragment.seq);
    const size = 3 + body + fragment.length;
    if (out.length + size > limit) return false;
    out.u8(continuation ? 0x11 : 0x10).u16(body + fragment.length);
    out.u8(fragment.flags | (withOptions ? FLAG_OPTIONS : 0));
    if (!continuation) {
      out
        .vlu(this.id)
        .vlu(fragment.seq)
        .vlu(fragment.seq - this.forwardSequenceNumber(fragment.seq));
      if (withOptions) out.write(this.optionsBytes);
    }
    out.writeRange(fragment.data, fragment.start, fragment.start + fragment.length);
    previous.flowId = this.id;
    previous.seq = fragment.seq;
    return true;
  }

  private dropStale(): void {
    // drop the oldest unreliable messages that have not started: a slow receiver loses media, not memory
    for (let i = 0; i < this.queue.length && this.queuedBytes > this.maxQueuedBytes;) {
      const message = this.queue[i]!;
      if (!message.reliable && !message.started) {
        this.queue.splice(i, 1);
        this.queuedBytes -= message.data.length;
        this.stats.droppedMessages++;
      } else {
        i++;
      }
    }
  }

  private finish(): void {
    writerBindings.unbind(this.key);
    let outstanding = 0;
    for (const fragment of this.inflight) if (!fragment.resend) outstanding += fragment.size;
    this.host.congestion.forget(outstanding);
    this.ended = true;
    this.queue.length = 0;
    this.inflight.length = 0;
    this.queuedBytes = 0;
    this.inflightBytes = 0;
  }

  /** @internal machine implementation */
  onClosed(): void {
    this.finish();
    this.host.onWriterClosed(this);
    // entry of a final state: the actor stops by itself once the transition ends
  }

  /** @internal machine implementation */
  onAbandoned(reason: string): void {
    this.finish();
    this.host.onWriterFailed(this, reason);
  }
}

const EMPTY = new Uint8Array(0);
const QUIET_MS = 1_000;
/** the RTO must have shrunk by at least this much (and by half) since the tick was armed to re-arm it: smoothing
 *  moves the RTO a little with every sample, and each re-arm is an actor event */
const REARM_MIN_SHRINK_MS = 100;

function inRanges(seq: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [from, to] of ranges) if (seq >= from && seq <= to) return true;
  return false;
}

/** Startup options of a flow: metadata (type 0), return association (type 0x0a), marker. */
export function encodeOptions(signature: Uint8Array, associatedFlowId: number | undefined): Uint8Array {
  const parts: number[] = [];
  const meta = [...encodeVLU(0), ...signature];
  parts.push(...encodeVLU(meta.length), ...meta);
  if (associatedFlowId !== undefined) {
    const assoc = [...encodeVLU(0x0a), ...encodeVLU(associatedFlowId)];
    parts.push(...encodeVLU(assoc.length), ...assoc);
  }
  parts.push(0);
  return Uint8Array.from(parts);
}

const writerBindings = new Bindings<FlowWriter>();

const boundWriterMachine = writerMachine.provide({
  actions: {
    retransmit: ({ context }) => writerBindings.get(context.key)?.retransmitDue(),
    abandoned: ({ context }) => writerBindings.get(context.key)?.onAbandoned(context.reason),
    closed: ({ context }) => writerBindings.get(context.key)?.onClosed(),
  },
  guards: {
    drained: ({ context }) => writerBindings.get(context.key)?.settled() ?? true,
    retransmissionDue: ({ context }) => writerBindings.get(context.key)?.retransmissionDue() ?? false,
    gaveUp: ({ context }) => writerBindings.get(context.key)?.gaveUp() ?? false,
  },
  delays: {
    retransmitTick: ({ context }) => writerBindings.get(context.key)?.nextTick() ?? 1_000,
  },
});
