// Packet framing around the cipher (RTMFP.md §1; RTMFP-7425-extensions.md A2.3, A3, A4):
//   SSID(4) | AES-CBC( [VLU sseq] [checksum u16] flags … chunks … FF padding ) | [MAC]
// Each direction follows what its sender negotiated, so the Protection fields come in send/recv pairs.
import { createHmac } from 'node:crypto';
import { pooledBytes, vluLength, writeVLU } from '../../../bytes.ts';
import { createBlockCipher, DEFAULT_KEY, type BlockCipher, type CipherImpl } from './aes.ts';

/** The datagram's session id: W0 ^ W1 ^ W2 (RTMFP.md §1.2); -1 when there are fewer than 12 bytes. */
export function readSessionId(datagram: Uint8Array): number {
  if (datagram.length < 12) return -1;
  return (be32(datagram, 0) ^ be32(datagram, 4) ^ be32(datagram, 8)) >>> 0;
}

/** What each direction negotiated; all zero/false = the Flash profile (checksum, no sequence numbers). */
export interface Protection {
  sendHMACLength: number;
  recvHMACLength: number;
  sendHMACKey?: Uint8Array;
  recvHMACKey?: Uint8Array;
  sendSequence: boolean;
  recvSequence: boolean;
}

export interface PacketCipher {
  /** datagram → cleartext from the flags byte to the end (padding included), after checksum or HMAC and session
   *  sequence number checks; null = drop (bad length, bad checksum, bad MAC, replayed/too-old sseq). Never throws.
   *  The datagram itself is left untouched: the result is a view into a fresh copy. */
  open(datagram: Uint8Array): Uint8Array | null;
  /** cleartext = flags | [ts] | [tse] | chunks (no checksum, no padding) → complete datagram whose scrambled SSID
   *  carries farSessionId. Adds sseq, checksum (when no HMAC), 0xFF padding, encrypts, appends the MAC. */
  seal(farSessionId: number, cleartext: Uint8Array): Uint8Array;
}

export const FLASH_PROTECTION: Readonly<Protection> = Object.freeze({
  sendHMACLength: 0,
  recvHMACLength: 0,
  sendSequence: false,
  recvSequence: false,
});

export function createPacketCipher(
  encryptKey: Uint8Array,
  decryptKey: Uint8Array,
  protection: Protection = FLASH_PROTECTION,
  impl: CipherImpl = 'node',
): PacketCipher {
  return new FramedCipher(encryptKey, decryptKey, protection, impl);
}

/** Internet checksum (RFC 1071) of bytes[start, end) as RTMFP.md §1.5: big-endian words, an odd last byte
 *  counts as a low-order byte (reachable only with a 1-byte sseq in front of the checksum). */
export function checksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]!;
  sum = (sum >>> 16) + (sum & 0xffff);
  sum += sum >>> 16;
  return ~sum & 0xffff;
}

/** A3: drop a number already accepted or ≤ highest − 32; anything else (gaps, reordering) is accepted. */
export class ReplayWindow {
  static readonly SIZE = 32;
  private highest = -1;
  /** bit i set ⇔ (highest − i) was accepted, for i < 32 */
  private seen = 0;

  accepts(sequence: number): boolean {
    if (sequence > this.highest) return true;
    const back = this.highest - sequence;
    return back < ReplayWindow.SIZE && (this.seen & (1 << back)) === 0;
  }

  /** Call only for a number `accepts` allowed and whose packet passed its checksum or MAC. */
  record(sequence: number): void {
    const ahead = sequence - this.highest;
    if (ahead > 0) {
      this.seen = ahead >= ReplayWindow.SIZE ? 1 : ((this.seen << ahead) | 1) >>> 0;
      this.highest = sequence;
    } else {
      this.seen = (this.seen | (1 << -ahead)) >>> 0;
    }
  }
}

const MAX_SSEQ_BYTES = 7; // 7 × 7 bits stays a safe integer

class FramedCipher implements PacketCipher {
  private readonly encryptor: BlockCipher;
  private readonly decryptor: BlockCipher;
  private readonly sendMAC: number;
  private readonly recvMAC: number;
  private readonly sendMACKey: Uint8Array | undefined;
  private readonly recvMACKey: Uint8Array | undefined;
  private readonly sendSequence: boolean;
  private readonly recvSequence: boolean;
  private nextSequence = 0;
  private readonly window = new ReplayWindow();

  constructor(encryptKey: Uint8Array, decryptKey: Uint8Array, p: Protection, impl: CipherImpl) {
    this.encryptor = createBlockCipher(encryptKey, impl);
    this.decryptor = createBlockCipher(decryptKey, impl);
    this.sendMAC = checkMAC(p.sendHMACLength, p.sendHMACKey, 'send');
    this.recvMAC = checkMAC(p.recvHMACLength, p.recvHMACKey, 'recv');
    this.sendMACKey = p.sendHMACKey;
    this.recvMACKey = p.recvHMACKey;
    this.sendSequence = p.sendSequence;
    this.recvSequence = p.recvSequence;
  }

  open(datagram: Uint8Array): Uint8Array | null {
    const macLength = this.recvMAC;
    const n = datagram.length - 4 - macLength;
    if (n < 16 || (n & 15) !== 0) return null;
    // The MAC covers the ciphertext only and is checked before any decryption or window change (A2.3).
    if (macLength > 0 && !macMatches(this.recvMACKey!, datagram, 4, 4 + n, macLength)) return null;
    // A copy, not datagram.slice(): on a Buffer (what dgram delivers) slice() is a view, and decrypting
    // in place would corrupt the caller's datagram.
    const clear = pooledBytes(n);
    clear.set(datagram.subarray(4, 4 + n));
    this.decryptor.decrypt(clear);
    let at = 0;
    let sequence = 0;
    if (this.recvSequence) {
      for (;;) {
        // n ≥ 16 (one block): the sequence number's 7 bytes at most, and the checksum after them, always lie within
        if (at >= MAX_SSEQ_BYTES) return null;
        const b = clear[at++]!;
        sequence = sequence * 128 + (b & 0x7f);
        if ((b & 0x80) === 0) break;
      }
      if (!this.window.accepts(sequence)) return null;
    }
    if (macLength === 0) {
      const stored = (clear[at]! << 8) | clear[at + 1]!;
      at += 2;
      if (checksum(clear, at, n) !== stored) return null;
    }
    if (this.recvSequence) this.window.record(sequence);
    return clear.subarray(at);
  }

  seal(farSessionId: number, cleartext: Uint8Array): Uint8Array {
    const macLength = this.sendMAC;
    const sequence = this.sendSequence ? this.nextSequence++ : -1;
    const sequenceLength = sequence < 0 ? 0 : vluLength(sequence);
    const prefix = sequenceLength + (macLength === 0 ? 2 : 0);
    const n = Math.max(16, (prefix + cleartext.length + 15) & ~15);
    const out = pooledBytes(4 + n + macLength);
    const end = 4 + n;
    if (sequenceLength > 0) writeVLU(out, 4, sequence);
    out.set(cleartext, 4 + prefix);
    out.fill(0xff, 4 + prefix + cleartext.length, end);
    if (macLength === 0) {
      const at = 4 + sequenceLength;
      const sum = checksum(out, at + 2, end);
      out[at] = sum >>> 8;
      out[at + 1] = sum;
    }
    this.encryptor.encrypt(out.subarray(4, end));
    const ssid = (farSessionId ^ be32(out, 4) ^ be32(out, 8)) >>> 0;
    out[0] = ssid >>> 24;
    out[1] = ssid >>> 16;
    out[2] = ssid >>> 8;
    out[3] = ssid;
    if (macLength > 0) {
      const mac = createHmac('sha256', this.sendMACKey!).update(out.subarray(4, end)).digest();
      out.set(mac.subarray(0, macLength), end);
    }
    return out;
  }
}

/** Default key, checksum, no sequence numbers: handshake packets, and RIKeying (A2.3). Stateless, so shared. */
export const startupCipher: PacketCipher = createPacketCipher(DEFAULT_KEY, DEFAULT_KEY);

function checkMAC(length: number, key: Uint8Array | undefined, direction: string): number {
  if (length === 0) return 0;
  if (!Number.isInteger(length) || length < 4 || length > 32) throw new RangeError(`${direction} HMAC length ${length} outside 4–32`);
  if (key === undefined) throw new RangeError(`${direction} HMAC length ${length} without a key`);
  return length;
}

function macMatches(key: Uint8Array, datagram: Uint8Array, start: number, end: number, length: number): boolean {
  const mac = createHmac('sha256', key).update(datagram.subarray(start, end)).digest();
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= mac[i]! ^ datagram[end + i]!;
  return diff === 0;
}

function be32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}
