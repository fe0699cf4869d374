// The session's congestion window and retransmission timeout (RFC 7016 §3.5.2, §3.5.2.2, Appendix A), driven
// directly: what is sent, acknowledged, lost or timed out, and the time (no clock needed: times are arguments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Congestion } from '../../src/protocols/rtmfp/session/congestion.ts';
import {
  CWND_INIT,
  CWND_TIMEDOUT,
  INITIAL_ERTO_MS,
  MAX_DATA_PACKET_BURST,
  MAXIMUM_ERTO_MS,
  MINIMUM_ERTO_MS,
  SENDER_MSS,
  TIMECRITICAL_TIMEOUT_MS,
} from '../../src/protocols/rtmfp/params.ts';

const PACKET = 1_180;

/** Packets in flight, by transmission sequence number, across calls (a sender that always has data). */
const inFlight = new WeakMap<Congestion, number[]>();

/** One round trip of a sender that always has data: the window's packets are acknowledged one ack packet each,
 *  and after each ack the sender fills the window again (those new packets are the next round trip's). */
function roundTrip(cc: Congestion, now: number, timeCritical = false): void {
  const sent = inFlight.get(cc) ?? [];
  const fill = () => {
    while (cc.open) {
      cc.onSent(PACKET, timeCritical, now);
      sent.push(cc.tsn++);
    }
  };
  fill();
  for (const tsn of sent.splice(0, sent.length)) {
    cc.beginPacket();
    cc.onAckChunk();
    cc.onAcked(PACKET, tsn);
    cc.endPacket({ lostBytes: 0, naked: false }, now);
    fill();
  }
  inFlight.set(cc, sent);
}

/** A packet whose acknowledgements declare `lost` bytes lost (after their third negative acknowledgement). */
function lossPacket(cc: Congestion, lost: number, now: number): void {
  cc.beginPacket();
  cc.onAckChunk();
  cc.endPacket({ lostBytes: lost, naked: true }, now);
}

test('a new session may have CWND_INIT outstanding, and nothing more', () => {
  const cc = new Congestion(0);
  assert.equal(cc.cwnd, CWND_INIT);
  let sent = 0;
  while (cc.open) {
    cc.onSent(PACKET, false, 0);
    sent += PACKET;
  }
  assert.ok(sent >= CWND_INIT && sent < CWND_INIT + PACKET, `${sent} bytes outstanding for a ${CWND_INIT} window`);
});

test('slow start: a fully used window doubles each round trip; with media being sent it grows a quarter as fast', () => {
  const plain = new Congestion(0);
  const before = plain.cwnd;
  roundTrip(plain, 10_000);
  assert.ok(plain.cwnd >= before * 2 - PACKET, `slow start ${before} → ${plain.cwnd}`);

  const media = new Congestion(0);
  roundTrip(media, 10_000, true);
  assert.ok(media.cwnd > before && media.cwnd < before * 1.5, `time-critical slow start ${before} → ${media.cwnd}`);
});

test('acknowledgements grow only a window in use (more than 63/64 of it outstanding)', () => {
  const grow = (outstanding: number): number => {
    const cc = new Congestion(0);
    cc.cwnd = 6_400;
    cc.onSent(outstanding, false, 0);
    cc.beginPacket();
    cc.onAckChunk();
    cc.onAcked(outstanding, cc.tsn);
    cc.endPacket({ lostBytes: 0, naked: false }, 0);
    return cc.cwnd - 6_400;
  };
  assert.equal(grow(1_000), 0, 'a window barely used does not grow');
  assert.equal(grow(6_300), 0, 'exactly 63/64 of it: not in use yet');
  assert.equal(grow(6_301), Math.min(6_301, SENDER_MSS), 'past 63/64: slow start grows it by what was acknowledged');
});

test('congestion avoidance: above ssthresh the window grows by a few hundred bytes a round trip, not by doubling', () => {
  const cc = new Congestion(0);
  cc.cwnd = cc.ssthresh = 20_000;
  for (let i = 0; i < 4; i++) roundTrip(cc, 10_000 + i);
  const grown = cc.cwnd - 20_000;
  // AITHRESH = cwnd / 16: at most about 16 steps of 48 bytes a round trip, where slow start would have doubled it
  assert.ok(grown >= 4 * 100 && grown <= 4 * 16 * 48 * 1.5, `grew ${grown} bytes in 4 round trips`);
});

test('multiplicative decrease: a loss halves the window, an eighth only while media is sent; never below CWND_INIT', () => {
  const cc = new Congestion(0);
  for (let i = 0; i < 5; i++) roundTrip(cc, 10_000 + i);
  const big = cc.cwnd;
  while (cc.open) cc.onSent(PACKET, false, 10_100);
  lossPacket(cc, PACKET, 10_100);
  assert.ok(Math.abs(cc.cwnd - big / 2) <= PACKET, `halved: ${big} → ${cc.cwnd}`);
  assert.equal(cc.stats.decreases, 1);

  const media = new Congestion(0);
  for (let i = 0; i < 10; i++) roundTrip(media, 10_000 + i, true);
  const window = media.cwnd;
  while (media.open) media.onSent(PACKET, true, 10_100);
  lossPacket(media, PACKET, 10_100);
  assert.ok(media.cwnd >= Math.floor(window * 0.875) - PACKET && media.cwnd < window, `time-critical: ${window} → ${media.cwnd}`);

  const small = new Congestion(0);
  small.onSent(PACKET, false, 0);
  lossPacket(small, PACKET, 0);
  assert.equal(small.cwnd, CWND_INIT, 'the window never falls below CWND_INIT on loss');
});

test('one decrease per round trip: losses within the recovery of a decrease do not cut again', () => {
  const cc = new Congestion(0);
  for (let i = 0; i < 5; i++) roundTrip(cc, 10_000 + i);
  while (cc.open) cc.onSent(PACKET, false, 10_100);
  lossPacket(cc, PACKET, 10_100);
  const after = cc.cwnd;
  lossPacket(cc, PACKET, 10_101);
  lossPacket(cc, PACKET, 10_102);
  assert.equal(cc.cwnd, after);
  assert.equal(cc.stats.decreases, 1);
  // the recovery lasts until what was outstanding at the decrease has drained: a loss in the packet that drains
  // its last byte already belongs to the next round trip
  lossPacket(cc, cc.outstanding, 10_103);
  assert.equal(cc.stats.decreases, 2);
  assert.ok(cc.cwnd < after);
});

test('a retransmission timeout drops the window to CWND_TIMEDOUT and backs ERTO off ×√2 up to 10 s', () => {
  const cc = new Congestion(0);
  assert.equal(cc.erto, INITIAL_ERTO_MS, 'ERTO before any round trip sample');
  for (let i = 0; i < 5; i++) roundTrip(cc, 10_000 + i);
  cc.onTimeout(20_000);
  assert.equal(cc.cwnd, CWND_TIMEDOUT);
  assert.ok(Math.abs(cc.erto - INITIAL_ERTO_MS * Math.SQRT2) < 1, `backed off: ${cc.erto}`);
  // several writers timing out in the same ERTO back off once
  cc.onTimeout(20_001);
  assert.ok(Math.abs(cc.erto - INITIAL_ERTO_MS * Math.SQRT2) < 1);
  let now = 20_000;
  for (let i = 0; i < 20; i++) {
    now += cc.erto;
    cc.onTimeout(now);
  }
  assert.equal(cc.erto, MAXIMUM_ERTO_MS, 'capped at 10 s');
  const timeouts = cc.stats.timeouts;
  cc.onTimeout(now + MAXIMUM_ERTO_MS - 1);
  assert.equal(cc.stats.timeouts, timeouts, 'within the same ERTO: the same timeout');
  cc.onTimeout(now + MAXIMUM_ERTO_MS);
  assert.equal(cc.stats.timeouts, timeouts + 1, 'a whole ERTO after the last one: a new timeout');
});

test('ERTO = SRTT + 4·RTTVAR + 200 ms from a sample, at least 250 ms, and a sample ends any back-off', () => {
  const cc = new Congestion(0);
  cc.onRtt(10, 2);
  assert.equal(cc.erto, MINIMUM_ERTO_MS);
  cc.onRtt(100, 25);
  assert.equal(cc.erto, 400);
  cc.onTimeout(1_000);
  assert.ok(cc.erto > 400);
  cc.onRtt(100, 25);
  assert.equal(cc.erto, 400);
});

test('restraint ends TIMECRITICAL_TIMEOUT after the last time-critical send: slow start is at full speed again', () => {
  const cc = new Congestion(0);
  cc.onSent(100, true, 1_000);
  cc.onAcked(100, 1);
  const before = cc.cwnd;
  roundTrip(cc, 1_000 + TIMECRITICAL_TIMEOUT_MS + 1);
  assert.ok(cc.cwnd >= before * 2 - PACKET, `${before} → ${cc.cwnd}`);
});

test('burst avoidance: at most 6 data packets between acknowledgements once the round trip is measurable', () => {
  const cc = new Congestion(0);
  cc.cwnd = 100 * PACKET;
  cc.onRtt(50, 10);
  let packets = 0;
  while (cc.open && packets < 100) {
    cc.onSent(PACKET, false, 0);
    cc.onDataPacket();
    packets++;
  }
  assert.equal(packets, MAX_DATA_PACKET_BURST);
  cc.beginPacket();
  cc.onAckChunk();
  cc.endPacket({ lostBytes: 0, naked: false }, 0);
  assert.equal(cc.open, true, 'an acknowledgement allows the next burst');
  // on loopback (round trip under 4.5 ms) there is no burst limit
  const lan = new Congestion(0);
  lan.cwnd = 100 * PACKET;
  lan.onRtt(1, 0.5);
  for (let i = 0; i < 20; i++) lan.onDataPacket();
  assert.equal(lan.open, true);
});

test('idle for an ERTO: the window starts again from CWND_INIT, remembering three quarters of it in ssthresh', () => {
  const grown = (): Congestion => {
    const cc = new Congestion(0);
    cc.ssthresh = 20_000; // set by an earlier loss
    cc.cwnd = 40_000; // then opened by congestion avoidance, now fully acknowledged
    return cc;
  };
  const busy = grown();
  busy.onSent(PACKET, false, busy.erto - 1);
  assert.equal(busy.cwnd, 40_000, 'idle for less than an ERTO: the window stands');
  assert.equal(busy.ssthresh, 20_000);

  const idle = grown();
  idle.onSent(PACKET, false, idle.erto);
  assert.equal(idle.cwnd, CWND_INIT, 'idle for an ERTO: the path may have changed');
  assert.equal(idle.ssthresh, 30_000, 'ssthresh keeps 3/4 of the old window: slow start up to it again');
});

test('a spurious timeout gives back the window it took, once; a decrease or an idle restart since forgets it', () => {
  const grown = (): Congestion => {
    const cc = new Congestion(0);
    for (let i = 0; i < 6; i++) roundTrip(cc, 10 + i);
    return cc;
  };
  const cc = grown();
  const before = cc.cwnd;
  assert.ok(before > 4 * CWND_TIMEDOUT);
  cc.onTimeout(1_000);
  assert.equal(cc.cwnd, CWND_TIMEDOUT);
  cc.onSpuriousTimeout();
  assert.equal(cc.cwnd, before, 'the window before the timeout');
  assert.equal(cc.stats.spuriousTimeouts, 1);
  cc.onSpuriousTimeout();
  assert.equal(cc.stats.spuriousTimeouts, 1, 'one timeout, one undo');

  const twice = grown();
  twice.onTimeout(1_000);
  twice.onTimeout(1_000 + twice.erto);
  twice.onSpuriousTimeout();
  assert.equal(twice.cwnd, before, 'back-to-back timeouts: the window before the first');

  const decreased = grown();
  decreased.onTimeout(1_000);
  lossPacket(decreased, PACKET, 1_010);
  const afterLoss = decreased.cwnd;
  decreased.onSpuriousTimeout();
  assert.equal(decreased.cwnd, afterLoss, 'a loss since the timeout: nothing to give back');
  assert.equal(decreased.stats.spuriousTimeouts, 0);

  const idle = grown();
  idle.onTimedOut(idle.outstanding, 1_000);
  idle.onSent(PACKET, false, 1_000 + 2 * idle.erto); // nothing outstanding for an ERTO: an idle restart
  assert.equal(idle.cwnd, CWND_INIT);
  idle.onSpuriousTimeout();
  assert.equal(idle.cwnd, CWND_INIT, 'an idle restart since the timeout: nothing to give back');
});

test('a timeout is not idleness: what it resends goes out under CWND_TIMEDOUT, not an idle restart', () => {
  const cc = new Congestion(0);
  for (let i = 0; i < 6; i++) roundTrip(cc, 10 + i);
  // everything outstanding was declared lost by the timer an ERTO after the last activity
  cc.onTimedOut(cc.outstanding, 10 + cc.erto);
  assert.equal(cc.cwnd, CWND_TIMEDOUT);
  cc.onSent(PACKET, false, 10 + cc.erto);
  assert.equal(cc.cwnd, CWND_TIMEDOUT, 'no restart to CWND_INIT');
});
