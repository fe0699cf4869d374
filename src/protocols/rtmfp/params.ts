// RTMFP limits chosen by Nimbus (not by RFC 7016/7425, which leave resource policy to the implementation:
// RFC 7016 §3.5.1 "an implementation SHOULD take steps to prevent a resource-exhaustion attack" by startup
// packets). Each says why its value.

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
