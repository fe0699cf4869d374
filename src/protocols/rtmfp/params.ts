// RTMFP protocol parameters in one place, each with where it comes from. RFC 7016 is the transport; where it
// leaves a number to the implementation, the value is the one of zenomt/rtmfp-cpp (by the RFC's author,
// include/rtmfp/params.hpp), written "[Z: …]". Times are milliseconds, sizes bytes.

/** Fragment payload a full packet carries: the 1180-byte cleartext budget (session.ts MAX_PACKET_CLEARTEXT) less
 *  a user data header with options. The "SMSS" of RFC 7016 §3.5.2 and Appendix A (SENDER_MSS) [Z: SENDER_MSS]. */
export const SENDER_MSS = 1150;

// Congestion control (RFC 7016 §3.5.2, Appendix A) ------------------------------------------------------------

/** Congestion window of a new session and after an idle period (Appendix A: CWND_INIT) [Z: 3 × SENDER_MSS]. */
export const CWND_INIT = 3 * SENDER_MSS;
/** Congestion window after a retransmission timeout: the minimum the window falls to (§3.5.2, Appendix A
 *  CWND_TIMEDOUT) [Z: 2 × SENDER_MSS]. */
export const CWND_TIMEDOUT = 2 * SENDER_MSS;
/** Fraction of the window a loss takes away: half (multiplicative decrease, §3.5.2 "TCP compatible"), never
 *  below CWND_INIT ... */
export const LOSS_DECREASE = 1 / 2;
/** ... but only an eighth while time-critical data was sent in the last TIMECRITICAL_TIMEOUT (Appendix A: real-time
 *  media keeps flowing through a loss) [Z: Session::updateCWND]. */
export const LOSS_DECREASE_TIMECRITICAL = 1 / 8;
/** Time-critical data sent (TC) or notified by the far end (TCR) within this period restrains window growth
 *  (§3.5.2.1, Appendix A: TIMECRITICAL_TIMEOUT) [Z: 800 ms]. */
export const TIMECRITICAL_TIMEOUT_MS = 800;
/** Congestion avoidance: the window grows by AI_STEP for every AITHRESH bytes acknowledged, AITHRESH =
 *  min(max(cwnd / 16, 64), AI_MAX_THRESH); by AI_STEP_RESTRAINED only when the far end reports time-critical
 *  data (TCR) and this session sends none (Appendix A) [Z: Session::updateCWND]. */
export const AI_MAX_THRESH = 4800;
export const AI_STEP = 48;
export const AI_STEP_RESTRAINED = 24;
/** A window unused by more than this margin shrinks by CWND_DECAY_SIZE per ack (Appendix A) [Z: 6 × SENDER_MSS, 1]. */
export const CWND_DECAY_MARGIN = 6 * SENDER_MSS;
export const CWND_DECAY_SIZE = 1;

/** Burst avoidance: at most this many packets of data between two received acknowledgements (or timeouts), so
 *  that an ack opening a large window does not put it on the wire at once (§3.5.2.3) [Z: MAX_DATA_PACKET_BURST] ... */
export const MAX_DATA_PACKET_BURST = 6;
/** ... unless the round trip is shorter than this (a LAN, loopback), where bursts cannot build a queue
 *  [Z: BURST_RTT_THRESH]. */
export const BURST_RTT_THRESH_MS = 4.5;

// Loss detection and retransmission timeout (RFC 7016 §3.5.2.2, §3.6.2.5, §3.6.2.6) ---------------------------

/** A fragment is lost once acknowledgements of fragments sent after it were received this many times
 *  (§3.6.2.5: negative acknowledgement threshold) [Z: NAKS_FOR_LOSS]. */
export const NAKS_FOR_LOSS = 3;
/** ERTO before the first round trip sample (§3.5.2.2: initial ERTO 3 s) [Z: INITIAL_ERTO]. */
export const INITIAL_ERTO_MS = 3_000;
/** ERTO never below 250 ms (§3.5.2.2: MINIMUM_ERTO) [Z: MINIMUM_ERTO]. */
export const MINIMUM_ERTO_MS = 250;
/** ERTO never above 10 s, however often it backs off (§3.5.2.2) [Z: MAX_ERTO]. */
export const MAXIMUM_ERTO_MS = 10_000;
/** Each timeout multiplies ERTO by about √2 (§3.5.2.2: exponential back-off) [Z: ERTO_BACKOFF_FACTOR]. */
export const ERTO_BACKOFF_FACTOR = Math.SQRT2;
/** MRTO = SRTT + 4·RTTVAR + this: the receiver's delayed-ack allowance (§3.5.2.2, §3.6.3.4.4) [Z: DELACK_ALARM_PERIOD]. */
export const DELACK_ALLOWANCE_MS = 200;
/** A receiver acknowledges at the latest after this many packets with user data; the acks of fewer wait for the
 *  end of the current batch of received datagrams (well inside the 200 ms delayed-ack allowance), unless a
 *  fragment arrived out of order, twice, or final (§3.6.3.4.4) [Z: RecvFlow ack after 2 packets]. */
export const ACK_EVERY_DATA_PACKETS = 2;
/** A session that delays its acknowledgements (the project's client: a player's acks are most of what a server
 *  receives) lets the acks of a lone data packet wait this long for a second one or for a packet going out
 *  anyway, instead of sending them at the end of the datagram batch. Within the 200 ms the sender allows for
 *  (§3.6.3.4.4, DELACK_ALLOWANCE_MS) [Z: delayed ack]; the timestamp echo carries the hold time, so the sender's
 *  round trip samples do not grow with it (§3.5.2.2). */
export const DELAYED_ACK_MS = 50;
/** SRTT and RTTVAR gains, as TCP's (§3.5.2.2 refers to RFC 6298). */
export const SRTT_GAIN = 1 / 8;
export const RTTVAR_GAIN = 1 / 4;
/** Retransmission timers fire up to this fraction of ERTO late, at random, so that writers that lost together
 *  do not all resend in the same instant (the timer's granularity is the implementation's, §3.5.2.2). */
export const RETRANSMIT_JITTER = 0.1;

// Session lifetime (RFC 7016 §3.5.4.1 keepalive, §3.5.5 close) -------------------------------------------------

/** Silence after which a session with a live peer is declared failed (§3.5.4.1 leaves it to the implementation;
 *  MonaServer: ~140 s; default of `[RTMFP] peerTimeout`). */
export const DEFAULT_PEER_TIMEOUT_MS = 20_000;
/** Unanswered keepalive pings after which a session without a timeout fails (Cumulus/Mona: 10, RTMFP.md §7.1). */
export const MAX_PINGS = 10;
/** A session that never receives a packet under its keys ends after this (§3.5.1: the startup's ultimate
 *  timeout, 95 s) [Z: ULTIMATE_SESSION_TIMEOUT]. */
export const KEYING_TIMEOUT_MS = 95_000;
/** Interval between keepalive pings once the far end has gone quiet (§3.5.4.1; Cumulus/Mona: their 2 s tick). */
export const PING_INTERVAL_MS = 2_000;
/** A writer with reliable data outstanding and no acknowledgement progress for this long gives up
 *  (§3.6.2.6 leaves the limit to the implementation; Cumulus/Mona fail a writer after ≈ 46 s). */
export const WRITER_GIVE_UP_MS = 45_000;

// Media over a path that cannot carry it --------------------------------------------------------------------

/** Media not started within its lifetime is dropped by the listener, video until the next key frame (RFC 7016
 *  §3.6.2.2 lets the sender abandon messages; values [Z: test/tcserver.cpp videoLifetime, audioLifetime]). */
export const VIDEO_LIFETIME_MS = 2_000;
export const AUDIO_LIFETIME_MS = 2_200;

// Startup packet budget: limits chosen by Nimbus, not the RFC (RFC 7016 §3.5.1 "an implementation SHOULD take
// steps to prevent a resource-exhaustion attack" by startup packets) --------------------------------------------

/**
 * Startup packets (session id 0: IHello, IIKeying; RFC 7016 §2.3.2, §3.5.1) accepted per second from one
 * source address, checked before any decryption or handshake work. A Flash Player or librtmfp connect
 * needs 2 to 4 (IHello, IIKeying and their retransmissions, RFC 7016 §3.5.1.1); 64 a second lets
 * ~16 clients behind one NAT connect every second, while a flood from that address costs the server a
 * map lookup per packet past it.
 */
export const STARTUP_PACKETS_PER_SECOND = 64;
/**
 * Seconds of budget one idle address may spend at once (the bucket is this many seconds of its rate): a
 * page opening several connections at once is not slowed.
 */
export const STARTUP_BURST_SECONDS = 2;
/**
 * Addresses whose startup budget is tracked at once. Past it the least recently seen is forgotten
 * (its next packet starts a full bucket): a flood from many spoofed addresses cannot grow memory.
 */
export const STARTUP_BUDGET_ADDRESSES = 65_536;
