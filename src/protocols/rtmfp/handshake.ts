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
export const COOKIE_LIFETIME_MS = 120_000;
/** Cookies remembered as spent (each for the rest of its lifetime) when no maxSpentCookies is given. */
export const MAX_SPENT_COOKIES = 65_536;

/** A cookie's identity in the tables: its time and random part (the HMAC follows from them). */
export function cookieKey(cookie: Uint8Array): string {
  return Buffer.from(cookie.buffer, cookie.byteOffset, Math.min(32, cookie.length)).toString('latin1');
}

export interface KeyingInProgress {
  cookie: string;
  initiatorSessionId: number;
  skic: Uint8Array;
  sessionId: number;
  /** the RIKeying chunk, resent as is on a repeated IIKeying */
  riKeying: Uint8Array;
  createdAt: number;
  /** when the cookie stops being valid: it stays spent until then */
  expiresAt: number;
}

/** When a (checked) cookie expires. */
export function cookieExpiry(cookie: Uint8Array): number {
  return new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0) * 1000 + COOKIE_LIFETIME_MS;
}

export interface HandshakeOptions {
  certificate: Uint8Array;
  groups: readonly DHGroup[];
  clock: Clock;
  maxKeyings: number;
  /** bound of the spent-cookie table; when it is full of live cookies, new keyings are refused (default 65,536) */
  maxSpentCookies?: number;
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
  /** cookies that created a session, until they expire: a cookie is single-use for its whole lifetime */
  private readonly spentCookies = new Map<string, number>();
  private readonly maxSpent: number;

  constructor(options: HandshakeOptions) {
    this.certificate = options.certificate;
    this.groups = options.groups;
    this.clock = options.clock;
    this.maxKeyings = options.maxKeyings;
    this.maxSpent = options.maxSpentCookies ?? MAX_SPENT_COOKIES;
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
    return this.keyings.get(cookieKey(cookie));
  }

  /** This cookie already created a session (its keying record may be gone, the cookie stays spent). */
  spent(cookie: Uint8Array): boolean {
    return this.spentCookies.has(cookieKey(cookie));
  }

  /** Room to remember one more spent cookie; false means new keyings must be refused until some expire. */
  canSpend(): boolean {
    if (this.spentCookies.size < this.maxSpent) return true;
    this.expire();
    return this.spentCookies.size < this.maxSpent;
  }

  get spentCount(): number {
    return this.spentCookies.size;
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
    this.spentCookies.set(entry.cookie, entry.expiresAt);
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
    // spent cookies expire in about insertion order (cookies are used within their lifetime, seconds apart)
    for (const [cookie, expiresAt] of this.spentCookies) {
      if (expiresAt >= now) break;
      this.spentCookies.delete(cookie);
    }
  }

  get pendingKeyings(): number {
    return this.keyings.size;
  }
}
