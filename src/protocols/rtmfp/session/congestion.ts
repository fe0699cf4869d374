// The congestion window one session shares between all its writers, and its retransmission timeout
// (RFC 7016 §3.5.2, §3.5.2.2 and the example algorithm of Appendix A, as zenomt/rtmfp-cpp implements it).
// Plain code: writers report what they sent, what was acknowledged and what they found lost; the session
// closes each received packet with `endPacket`, where negative acknowledgements are counted and the window
// moves once per packet, as the RFC describes it.
import {
  AI_MAX_THRESH,
  AI_STEP,
  AI_STEP_RESTRAINED,
  BURST_RTT_THRESH_MS,
  CWND_DECAY_MARGIN,
  CWND_DECAY_SIZE,
  CWND_INIT,
  CWND_TIMEDOUT,
  DELACK_ALLOWANCE_MS,
  ERTO_BACKOFF_FACTOR,
  INITIAL_ERTO_MS,
  LOSS_DECREASE,
  LOSS_DECREASE_TIMECRITICAL,
  MAX_DATA_PACKET_BURST,
  MAXIMUM_ERTO_MS,
  MINIMUM_ERTO_MS,
  SENDER_MSS,
  TIMECRITICAL_TIMEOUT_MS,
} from '../params.ts';

/** What one writer found when the session counted negative acknowledgements after a packet. */
export interface NakOutcome {
  /** bytes of fragments declared lost (no longer outstanding) */
  lostBytes: number;
  /** some fragment sent before an acknowledged one is still missing */
  naked: boolean;
}

export interface CongestionStats {
  /** fragments declared lost after NAKS_FOR_LOSS negative acknowledgements */
  nakLosses: number;
  /** retransmission timeouts (each one drops the window to CWND_TIMEDOUT and backs ERTO off) */
  timeouts: number;
  /** multiplicative decreases */
  decreases: number;
  /** timeouts proven spurious by an acknowledgement of what they declared lost (the window came back) */
  spuriousTimeouts: number;
}

export class Congestion {
  /** congestion window, bytes: fragment bytes the session may have outstanding at once */
  cwnd = CWND_INIT;
  ssthresh = Infinity;
  /** bytes of fragments sent and neither acknowledged nor declared lost, over all the session's writers */
  outstanding = 0;
  /** transmission sequence number of the packet being built: a fragment remembers in which packet it left */
  tsn = 1;
  /** highest transmission sequence number acknowledged by the packet being processed */
  maxTsnAck = 0;
  /** effective retransmission timeout (§3.5.2.2) */
  erto = INITIAL_ERTO_MS;
  /** measured retransmission timeout: ERTO comes back to it with every round trip sample */
  mrto = MINIMUM_ERTO_MS;
  readonly stats: CongestionStats = { nakLosses: 0, timeouts: 0, decreases: 0, spuriousTimeouts: 0 };

  private preAckOutstanding = 0;
  private ackedThisPacket = 0;
  private anyAcks = false;
  private accumulator = 0;
  /** bytes that must drain after a decrease before the next one: one decrease per round trip */
  private recoveryRemaining = 0;
  private tcSentAt = -Infinity;
  private tcrReceivedAt = -Infinity;
  private lastTimeoutAt = -Infinity;
  /** the window before the timeouts since the last decrease: what a spurious timeout gives back */
  private windowBeforeTimeout: number | undefined;
  private lastActivity = 0;
  /** data packets still allowed before the next acknowledgement (§3.5.2.3) */
  private burst = MAX_DATA_PACKET_BURST;
  private srtt = 0;

  constructor(now: number) {
    this.lastActivity = now;
  }

  /** Room for another fragment: outstanding data below the window, and the burst allowance not spent. */
  get open(): boolean {
    return this.outstanding < this.cwnd && (this.burst > 0 || this.srtt < BURST_RTT_THRESH_MS);
  }

  /** A packet carrying data left. */
  onDataPacket(): void {
    this.burst--;
  }

  /** A round trip sample arrived: ERTO is MRTO again, whatever back-off it had (§3.5.2.2). */
  onRtt(srtt: number, rttvar: number): void {
    this.srtt = srtt;
    this.mrto = srtt + 4 * rttvar + DELACK_ALLOWANCE_MS;
    this.erto = Math.min(MAXIMUM_ERTO_MS, Math.max(this.mrto, MINIMUM_ERTO_MS));
  }

  /** The far end marked a packet TCR: it is receiving time-critical data from someone (§3.5.2.1). */
  onTimeCriticalReverse(now: number): void {
    this.tcrReceivedAt = now;
  }

  /** A fragment left in the current packet. */
  onSent(bytes: number, timeCritical: boolean, now: number): void {
    if (this.outstanding === 0 && now - this.lastActivity >= this.erto) {
      // idle for an ERTO: the path may have changed, start again from the initial window (Appendix A)
      this.ssthresh = Math.max(this.ssthresh, (this.cwnd * 3) / 4);
      this.cwnd = CWND_INIT;
      this.windowBeforeTimeout = undefined;
    }
    this.outstanding += bytes;
    this.lastActivity = now;
    if (timeCritical) this.tcSentAt = now;
  }

  /** Start of a received packet's chunks. */
  beginPacket(): void {
    this.preAckOutstanding = this.outstanding;
    this.ackedThisPacket = 0;
    this.anyAcks = false;
    this.maxTsnAck = 0;
  }

  /** An acknowledgement chunk arrived in this packet (even one acknowledging nothing new). */
  onAckChunk(): void {
    this.anyAcks = true;
  }

  /** An outstanding fragment was acknowledged. */
  onAcked(bytes: number, tsn: number): void {
    this.outstanding -= bytes;
    this.ackedThisPacket += bytes;
    if (tsn > this.maxTsnAck) this.maxTsnAck = tsn;
  }

  /** Bytes that stop being outstanding without an acknowledgement (writer closed or disposed). */
  forget(bytes: number): void {
    this.outstanding = Math.max(0, this.outstanding - bytes);
  }

  /** Fragments declared lost by a retransmission timer: they may be sent again at once, burst included. */
  onTimedOut(bytes: number, now: number): void {
    this.forget(bytes);
    this.burst = MAX_DATA_PACKET_BURST;
    this.onTimeout(now);
  }

  /** Does the packet just processed carry acknowledgements (so NAKs must be counted)? */
  get acksThisPacket(): boolean {
    return this.anyAcks;
  }

  /**
   * End of a received packet that carried acknowledgements: `naks` is what the writers found counting negative
   * acknowledgements against `maxTsnAck`. Moves the window once (Appendix A).
   */
  endPacket(naks: NakOutcome, now: number): void {
    this.burst = MAX_DATA_PACKET_BURST;
    this.outstanding = Math.max(0, this.outstanding - naks.lostBytes);
    this.lastActivity = now;
    const lost = naks.lostBytes > 0;
    if (lost) this.stats.nakLosses++;
    const drained = this.ackedThisPacket + naks.lostBytes;
    if (this.recoveryRemaining > drained) {
      // still within the round trip of the last decrease: one decrease per loss event
      this.recoveryRemaining -= drained;
      return;
    }
    this.recoveryRemaining = 0;
    const tcSent = now - this.tcSentAt <= TIMECRITICAL_TIMEOUT_MS;
    const fastGrow = !tcSent && now - this.tcrReceivedAt > TIMECRITICAL_TIMEOUT_MS;
    if (lost) {
      const preCut = Math.min(this.cwnd, this.preAckOutstanding);
      const decrease = tcSent ? LOSS_DECREASE_TIMECRITICAL : LOSS_DECREASE;
      this.ssthresh = Math.max(Math.floor(preCut * (1 - decrease)), CWND_INIT);
      this.cwnd = this.ssthresh;
      this.accumulator = 0;
      this.recoveryRemaining = this.outstanding;
      this.windowBeforeTimeout = undefined;
      this.stats.decreases++;
      return;
    }
    if (!naks.naked && this.preAckOutstanding > (this.cwnd * 63) / 64) {
      // the window was in use: grow it (slow start below ssthresh, congestion avoidance above)
      // slow start: as TCP without time-critical traffic around, a quarter as fast while sending it;
      // congestion avoidance: AI_STEP per AITHRESH acknowledged (about 16 steps a round trip)
      let increase = 0;
      if (this.cwnd < this.ssthresh && (fastGrow || tcSent)) {
        increase = fastGrow ? this.ackedThisPacket : Math.ceil(this.ackedThisPacket / 4);
        this.accumulator = 0;
      } else {
        const threshold = Math.min(Math.max(this.cwnd / 16, 64), AI_MAX_THRESH);
        this.accumulator += this.ackedThisPacket;
        while (this.accumulator >= threshold) {
          this.accumulator -= threshold;
          increase += fastGrow || tcSent ? AI_STEP : AI_STEP_RESTRAINED;
        }
      }
      this.cwnd = Math.max(this.cwnd + Math.min(increase, SENDER_MSS), CWND_INIT);
    } else if (!naks.naked && this.cwnd > this.preAckOutstanding + CWND_DECAY_MARGIN) {
      // a window far larger than what is used says nothing about the path: let it decay
      this.cwnd -= CWND_DECAY_SIZE;
    }
  }

  /**
   * A retransmission timeout: the path delivered nothing for an ERTO. The window falls to CWND_TIMEDOUT and ERTO
   * backs off by √2 up to 10 s (§3.5.2.2), once per ERTO however many writers time out together.
   */
  onTimeout(now: number): void {
    if (now - this.lastTimeoutAt < this.erto) return;
    this.lastTimeoutAt = now;
    // a timeout is not idleness: what it resends starts from CWND_TIMEDOUT, not from an idle restart's CWND_INIT
    this.lastActivity = now;
    this.stats.timeouts++;
    this.windowBeforeTimeout ??= this.cwnd;
    this.ssthresh = Math.max(this.ssthresh, (this.cwnd * 3) / 4);
    this.cwnd = CWND_TIMEDOUT;
    this.accumulator = 0;
    this.recoveryRemaining = 0;
    this.erto = Math.max(Math.min(this.erto * ERTO_BACKOFF_FACTOR, MAXIMUM_ERTO_MS), Math.min(this.mrto, MAXIMUM_ERTO_MS));
  }

  /**
   * An acknowledgement reached a fragment sent once, declared lost by a timeout and not sent again: that one
   * transmission arrived, so the timeout measured a delay (a receiver that stalled, acks queued behind it), not a
   * loss. The window comes back to what it was before the timeouts (RFC 3522 detection: the ack is for the
   * original transmission; RFC 4015 response: undo the reduction); ERTO comes back with the next round trip
   * sample (onRtt). Without this, a receiver that stalls for an ERTO leaves its session at CWND_TIMEDOUT, and
   * media at a few hundred kbit/s then waits seconds for a window that regrows a quarter as fast as TCP's.
   */
  onSpuriousTimeout(): void {
    if (this.windowBeforeTimeout === undefined) return;
    this.cwnd = Math.max(this.cwnd, this.windowBeforeTimeout);
    this.windowBeforeTimeout = undefined;
    this.stats.spuriousTimeouts++;
  }
}
