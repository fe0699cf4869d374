// Responder side of the RTMFP handshake (RFC 7016 §3.5.1, RFC 7425 §4, RTMFP.md §3): IHello → RHello with a
// cookie, IIKeying → RIKeying. Cookies are stateless (time + HMAC of the requester's address), so an IHello
// flood costs a hash per packet and no memory; the only state is a bounded table of keyings in progress,
// kept so that a repeated IIKeying gets the very same RIKeying (a new DH key would desynchronise the client).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import { respondToKeying, type ResponderKeying } from './crypto/keying.ts';
import type { DHGroup } from './crypto/dh.ts';
import { ByteWriter } from '../../bytes.ts';
import { CHUNK, writeChunk, type Chunk } from './wire/chunks.ts';
import { MODE, timestampNow, writePacketHeader } from './wire/packet.ts';
import type { RTMFPAddress } from './wire/address.ts';
import type { Endpoint } from './session/session.ts';

export const COOKIE_SIZE = 64;
const COOKIE_LIFETIME_MS = 120_000;

export interface KeyingInProgress {
  cookie: string;
  initiatorSessionId: number;
  skic: Uint8Array;
  sessionId: number;
  /** the RIKeying chunk, resent as is on a repeated IIKeying */
  riKeying: Uint8Array;
  createdAt: number;
}

export interface HandshakeOptions {
  certificate: Uint8Array;
  groups: readonly DHGroup[];
  clock: Clock;
  maxKeyings: number;
}

export class Handshake {
  readonly certificate: Uint8Array;
  private readonly groups: readonly DHGroup[];
  private readonly clock: Clock;
  private readonly secret = randomBytes(32);
  private readonly keyings = new Map<string, KeyingInProgress>();
  /** session id → cookie of its keying record, so that commit() is O(1) on the per-packet path */
  private readonly cookieOfSession = new Map<number, string>();
  private readonly maxKeyings: number;

  constructor(options: HandshakeOptions) {
    this.certificate = options.certificate;
    this.groups = options.groups;
    this.clock = options.clock;
    this.maxKeyings = options.maxKeyings;
  }

  /** Cleartext (flags onward) of a startup packet carrying one chunk. */
  startupPacket(chunk: Chunk): Uint8Array {
    const w = new ByteWriter(256);
    writePacketHeader(w, MODE.STARTUP, timestampNow(this.clock.now()));
    writeChunk(w, chunk);
    return w.bytes();
  }

  rHello(tag: Uint8Array, from: Endpoint): Uint8Array {
    return this.startupPacket({
      type: CHUNK.RHELLO,
      tag,
      cookie: this.makeCookie(from),
      certificate: this.certificate,
    });
  }

  redirect(tag: Uint8Array, addresses: RTMFPAddress[]): Uint8Array {
    return this.startupPacket({ type: CHUNK.REDIRECT, tag, addresses });
  }

  /** A cookie valid for COOKIE_LIFETIME_MS from this address: `seconds u32 | random 28 | HMAC 32`. */
  makeCookie(from: Endpoint): Uint8Array {
    const cookie = new Uint8Array(COOKIE_SIZE);
    const view = new DataView(cookie.buffer);
    view.setUint32(0, Math.floor(this.clock.now() / 1000));
    cookie.set(randomBytes(28), 4);
    cookie.set(this.cookieMac(cookie.subarray(0, 32), from), 32);
    return cookie;
  }

  checkCookie(cookie: Uint8Array, from: Endpoint): boolean {
    if (cookie.length !== COOKIE_SIZE) return false;
    const issued = new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0) * 1000;
    const age = this.clock.now() - issued;
    if (age < -1000 || age > COOKIE_LIFETIME_MS) return false;
    return timingSafeEqual(this.cookieMac(cookie.subarray(0, 32), from), cookie.subarray(32));
  }

  private cookieMac(head: Uint8Array, from: Endpoint): Uint8Array {
    return createHmac('sha256', this.secret).update(head).update(`${from.host}|${from.port}`).digest();
  }

  /** A keying already answered for this cookie (repeated IIKeying). */
  existing(cookie: Uint8Array): KeyingInProgress | undefined {
    return this.keyings.get(Buffer.from(cookie).toString('hex'));
  }

  /** Compute the responder keying; null = no answer (group not offered, bad key, failed negotiation). */
  respond(certificate: Uint8Array, skic: Uint8Array): ResponderKeying | null {
    return respondToKeying(certificate, skic, this.groups);
  }

  remember(entry: KeyingInProgress): void {
    this.expire();
    if (this.keyings.size >= this.maxKeyings) {
      const oldest = this.keyings.keys().next().value as string;
      this.forget(oldest);
    }
    this.keyings.set(entry.cookie, entry);
    this.cookieOfSession.set(entry.sessionId, entry.cookie);
  }

  /** The session answered under its keys: the keying record is no longer needed. */
  commit(sessionId: number): void {
    const cookie = this.cookieOfSession.get(sessionId);
    if (cookie !== undefined) this.forget(cookie);
  }

  private forget(cookie: string): void {
    const entry = this.keyings.get(cookie);
    if (!entry) return;
    this.keyings.delete(cookie);
    this.cookieOfSession.delete(entry.sessionId);
  }

  expire(): void {
    const now = this.clock.now();
    for (const [cookie, entry] of this.keyings) {
      if (now - entry.createdAt <= COOKIE_LIFETIME_MS) break; // insertion order = age order
      this.forget(cookie);
    }
  }

  get pendingKeyings(): number {
    return this.keyings.size;
  }
}
