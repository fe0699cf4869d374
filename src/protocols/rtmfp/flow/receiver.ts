// The receiving side of one flow (RFC 7016 §3.6.3): puts fragments back in sequence order, skips what the
// sender declared abandoned (forward sequence number), reassembles fragmented messages and builds the
// range acknowledgement. Called once per user data fragment, so it is plain code with no per-fragment
// allocation on the in-order path.
//
// Whatever a peer sends, memory stays bounded: out-of-order fragments are stored only while they fit the
// limits below and lie within a window after the cumulative ack; everything else is dropped unacked,
// which to the sender looks like loss and is retransmitted later.

import { ByteWriter, vluLength } from '../../../bytes.ts';
import { CHUNK, CHUNK_HEADER_SIZE, USER_DATA_FLAG, type UserDataChunk } from '../wire/chunks.ts';

export interface ReceiverLimits {
  /** Out-of-order fragments stored at once; also how far past the cumulative ack a fragment may lie. */
  maxBufferedFragments: number;
  /** Largest message reassembled from fragments; also the cap on out-of-order bytes stored. */
  maxMessageBytes: number;
}

export const DEFAULT_RECEIVER_LIMITS: Readonly<ReceiverLimits> = {
  maxBufferedFragments: 1024,
  maxMessageBytes: 4 * 1024 * 1024,
};

/** Advertised buffer in 1024-byte blocks. Never 0: Cumulus/Mona senders fail a writer that sees 0. */
export const ACK_BUFFER_BLOCKS = 0x7f;

/** A range ack is kept below this many bytes so it always fits one packet next to other chunks. */
export const MAX_ACK_BYTES = 1000;

interface Stored {
  flags: number;
  data: Uint8Array;
}
/** shared by every receiver that has stored nothing yet; never written */
const NOTHING_STORED = new Map<number, Stored>();

/**
 * `message` may be a view into the packet that carried it: copy it to keep it beyond the call. `info` is
 * reused between calls; `lostBefore` counts fragments given up on since the previous delivery.
 */
export type DeliverMessage = (message: Uint8Array, info: { lostBefore: number }) => void;

export class FlowReceiver {
  readonly id: number;
  ackNeeded = false;
  /** The ack should not wait (RFC 7016 §3.6.3.4.5): a duplicate (our ack may be lost), a fragment out of order
   *  (the sender learns of the gap sooner), or the final fragment (the flow can be forgotten). */
  ackUrgent = false;
  /** Sequence numbers given up on: skipped below a forward sequence number, or abandoned (ABN). */
  lostFragments = 0;
  /** Fragments accepted (not duplicates, not dropped by the limits). */
  receivedFragments = 0;
  /** Payload bytes of the accepted fragments. */
  bytesReceived = 0;
  /** Fragments received but thrown away: over the limits, or pieces of a message that cannot complete. */
  droppedFragments = 0;

  private readonly deliver: DeliverMessage;
  private readonly limits: ReceiverLimits;
  /** Highest sequence number processed; everything at or below it is settled (the cumulative ack). */
  private processed = 0;
  /** made on the first fragment out of order: most flows (an idle NetConnection's) never have one */
  private stored: Map<number, Stored> = NOTHING_STORED;
  private storedBytes = 0;
  /** Fragments of the message being reassembled, or null when none is. */
  private partial: Uint8Array[] | null = null;
  private partialBytes = 0;
  private lostSinceDelivery = 0;
  private finalSequence = Infinity;
  private closed = false;
  /** Reused by deliver's info so the in-order path allocates nothing. */
  private readonly info = { lostBefore: 0 };

  constructor(id: number, deliver: DeliverMessage, limits?: Partial<ReceiverLimits>) {
    this.id = id;
    this.deliver = deliver;
    // the defaults themselves when none is given: one object for every receiver
    this.limits = limits ? { ...DEFAULT_RECEIVER_LIMITS, ...limits } : DEFAULT_RECEIVER_LIMITS;
  }

  /** The FIN fragment and everything before it are processed. */
  get finished(): boolean {
    return this.processed >= this.finalSequence;
  }

  get cumulativeAck(): number {
    return this.processed;
  }

  /** Bytes held: out-of-order fragments stored plus the message being reassembled (the session budgets them). */
  get bufferedBytes(): number {
    return this.storedBytes + this.partialBytes;
  }

  /** Out-of-order fragments currently stored (for tests and statistics). */
  get bufferedFragments(): number {
    return this.stored.size;
  }

  onFragment(chunk: UserDataChunk): void {
    if (this.closed) return;
    const sequence = chunk.sequence;
    if (sequence <= this.processed || this.stored.has(sequence)) {
      this.ackNeeded = true; // our earlier ack may have been lost
      this.ackUrgent = true;
      return;
    }
    if (sequence > this.finalSequence) {
      this.droppedFragments++;
      return;
    }
    // fsnOffset 0 (allowed with ABN) would settle this very fragment; it is still processed below.
    const forward = Math.min(sequence - chunk.fsnOffset, sequence - 1);
    const skipped = forward > this.processed;
    if (skipped) {
      this.skipTo(forward);
      if (this.closed) return;
    }

    if (sequence === this.processed + 1) {
      this.accept(chunk.data.length);
      if (chunk.flags & USER_DATA_FLAG.FINAL) this.setFinal(sequence);
      this.process(sequence, chunk.flags, chunk.data, false);
      this.drain();
    } else {
      this.ackUrgent = true;
      if (!this.store(chunk)) {
        if (skipped) this.ackNeeded = true; // the cumulative ack moved even though this fragment is refused
        return;
      }
      this.accept(chunk.data.length);
      if (chunk.flags & USER_DATA_FLAG.FINAL) this.setFinal(Math.min(this.finalSequence, sequence));
    }
    this.ackNeeded = true;
  }

  /**
   * A 0x51 for this flow: cumulative ack plus the runs of stored fragments, lowest first. Runs that would
   * push the chunk past MAX_ACK_BYTES are left out; the sender then simply does not learn of them yet.
   */
  writeAck(w: ByteWriter): void {
    this.ackNeeded = false;
    this.ackUrgent = false;
    const cumulative = this.processed;
    w.u8(CHUNK.ACK_RANGES);
    const lengthAt = w.length;
    w.u16(0);
    w.vlu(this.id).vlu(ACK_BUFFER_BLOCKS).vlu(cumulative);
    if (this.stored.size > 0) {
      let size = CHUNK_HEADER_SIZE + vluLength(this.id) + vluLength(ACK_BUFFER_BLOCKS) + vluLength(cumulative);
      const sequences = this.sortedStored();
      let cursor = cumulative;
      for (let i = 0; i < sequences.length;) {
        const from = sequences[i]!;
        let to = from;
        while (++i < sequences.length && sequences[i] === to + 1) to++;
        const holes = from - cursor - 2;
        const received = to - from;
        size += vluLength(holes) + vluLength(received);
        if (size > MAX_ACK_BYTES) break;
        w.vlu(holes).vlu(received);
        cursor = to;
      }
    }
    w.setU16(lengthAt, w.length - lengthAt - 2);
  }

  /** Nothing after the FIN sequence exists: fragments stored beyond it are dropped (they would also corrupt acks). */
  private setFinal(sequence: number): void {
    this.finalSequence = sequence;
    this.ackUrgent = true;
    for (const stored of [...this.stored.keys()]) {
      if (stored > sequence) {
        this.unstore(stored);
        this.droppedFragments++;
      }
    }
  }

  /** Forget everything stored; later fragments are ignored. */
  close(): void {
    this.closed = true;
    this.stored.clear();
    this.storedBytes = 0;
    this.partial = null;
    this.partialBytes = 0;
  }

  private accept(bytes: number): void {
    this.receivedFragments++;
    this.bytesReceived += bytes;
  }

  /** Keeps a copy: the chunk's data is a view into a packet buffer that may be reused. */
  private store(chunk: UserDataChunk): boolean {
    const { maxBufferedFragments, maxMessageBytes } = this.limits;
    // the window bounds the count too: stored sequences are distinct and all within (processed, processed + max]
    if (chunk.sequence - this.processed > maxBufferedFragments || this.storedBytes + chunk.data.length > maxMessageBytes) {
      this.droppedFragments++;
      return false;
    }
    if (this.stored === NOTHING_STORED) this.stored = new Map();
    this.stored.set(chunk.sequence, { flags: chunk.flags, data: chunk.data.slice() });
    this.storedBytes += chunk.data.length;
    return true;
  }

  private unstore(sequence: number): Stored | undefined {
    const s = this.stored.get(sequence);
    if (s) {
      this.stored.delete(sequence);
      this.storedBytes -= s.data.length;
    }
    return s;
  }

  /** The sender promises nothing at or below `forward` will come again: process what we have, count the rest lost. */
  private skipTo(forward: number): void {
    if (this.stored.size > 0) {
      for (const sequence of this.sortedStored()) {
        if (sequence > forward || this.closed) break;
        this.gap(sequence - this.processed - 1);
        const s = this.unstore(sequence)!;
        this.process(sequence, s.flags, s.data, true);
      }
    }
    if (forward > this.processed) {
      this.gap(forward - this.processed);
      this.processed = forward;
    }
    this.drain(); // what was stored just above `forward` may now be next
  }

  private drain(): void {
    if (this.stored.size === 0) return;
    let s: Stored | undefined;
    while (this.processed < this.finalSequence && (s = this.unstore(this.processed + 1))) {
      this.process(this.processed + 1, s.flags, s.data, true);
    }
  }

  private gap(count: number): void {
    if (count <= 0) return;
    this.lostFragments += count;
    this.lostSinceDelivery += count;
    this.dropPartial();
  }

  private dropPartial(): void {
    if (this.partial) {
      this.droppedFragments += this.partial.length;
      this.partial = null;
      this.partialBytes = 0;
    }
  }

  /**
   * The next fragment in sequence order (RFC 7016 §3.6.3.3). `owned`: data is already our copy; otherwise
   * it is a packet view, fine to deliver at once but copied before it is kept for a later fragment.
   */
  private process(sequence: number, flags: number, data: Uint8Array, owned: boolean): void {
    this.processed = sequence;
    if (flags & USER_DATA_FLAG.ABANDON) {
      this.gap(1);
      return;
    }
    switch (flags & USER_DATA_FLAG.FRAGMENT_MASK) {
      case 0: // whole message
        this.dropPartial();
        this.emit(data);
        return;
      case USER_DATA_FLAG.BEGIN:
        this.dropPartial();
        if (data.length > this.limits.maxMessageBytes) {
          this.droppedFragments++;
          return;
        }
        this.partial = [owned ? data : data.slice()];
        this.partialBytes = data.length;
        return;
      case USER_DATA_FLAG.MIDDLE:
      case USER_DATA_FLAG.END: {
        const partial = this.partial;
        if (!partial) {
          this.droppedFragments++; // its beginning is lost or was refused
          return;
        }
        if (this.partialBytes + data.length > this.limits.maxMessageBytes) {
          this.droppedFragments++;
          this.dropPartial();
          return;
        }
        this.partialBytes += data.length;
        if ((flags & USER_DATA_FLAG.FRAGMENT_MASK) === USER_DATA_FLAG.MIDDLE) {
          partial.push(owned ? data : data.slice());
          return;
        }
        partial.push(data); // joined right away, so a view is enough
        this.partial = null;
        const message = join(partial, this.partialBytes);
        this.partialBytes = 0;
        this.emit(message);
        return;
      }
    }
  }

  private emit(message: Uint8Array): void {
    this.info.lostBefore = this.lostSinceDelivery;
    this.lostSinceDelivery = 0;
    this.deliver(message, this.info);
  }

  private sortedStored(): number[] {
    return Array.from(this.stored.keys()).sort((a, b) => a - b);
  }
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
