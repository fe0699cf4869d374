// The server half of the RTMP handshake (RTMP.md §1): C0+C1 in, S0+S1+S2 out at once (ffmpeg and OBS read
// all three before writing C2), C2 consumed and not checked (ERRATA §3). A C1 carrying a valid Flash Player
// digest gets the digest answer Flash, FMLE and ffmpeg players validate; any other C1 the simple answer.
import { createHmac, randomBytes } from 'node:crypto';
import { WireError } from '../../errors.ts';
import { FMS_KEY_TEXT, FP_KEY_TEXT, HANDSHAKE_SIZE, KEY_TAIL, RTMP_VERSION, SERVER_VERSION } from './params.ts';

const FP_KEY = Buffer.from(FP_KEY_TEXT, 'latin1');
const FMS_KEY = Buffer.from(FMS_KEY_TEXT, 'latin1');
const FMS_FULL_KEY = Buffer.concat([FMS_KEY, KEY_TAIL]);
const DIGEST_SIZE = 32;

/** The two digest layouts (RTMP.md §1.4): A digest block first (ffmpeg's), B key block first. */
export type DigestScheme = 'A' | 'B';

/** Where a packet of the given scheme carries its 32-byte digest (offsets within C1/S1). */
export function digestOffset(packet: Uint8Array, scheme: DigestScheme): number {
  const base = scheme === 'A' ? 8 : 772;
  const sum = packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!;
  return (sum % 728) + base + 4;
}

/** HMAC-SHA256 of the packet without its 32 digest bytes at `offset`. */
function packetDigest(packet: Uint8Array, offset: number, key: Uint8Array): Buffer {
  return createHmac('sha256', key)
    .update(packet.subarray(0, offset))
    .update(packet.subarray(offset + DIGEST_SIZE))
    .digest();
}

/** The scheme and digest of a C1 signed with the Flash Player key, or undefined (a simple C1). */
export function validateC1(c1: Uint8Array): { scheme: DigestScheme; digest: Uint8Array } | undefined {
  // nginx skips the test for a zero version; checking it anyway costs two HMACs per connection only
  for (const scheme of ['A', 'B'] as const) {
    const offset = digestOffset(c1, scheme);
    const expected = packetDigest(c1, offset, FP_KEY);
    const digest = c1.subarray(offset, offset + DIGEST_SIZE);
    if (Buffer.compare(expected, digest) === 0) return { scheme, digest: digest.slice() };
  }
  return undefined;
}

export interface HandshakeAnswer {
  /** S0 | S1 | S2 */
  bytes: Uint8Array;
  /** the C1 was a digest one, and so is the answer */
  digest: boolean;
}

/** S0+S1+S2 for a C0+C1 (1537 bytes); a C0 other than 3 is refused with a WireError. */
export function answerHandshake(c0c1: Uint8Array, now = Date.now()): HandshakeAnswer {
  if (c0c1.length !== 1 + HANDSHAKE_SIZE) throw new WireError(`C0+C1 of ${c0c1.length} bytes`);
  if (c0c1[0] !== RTMP_VERSION) throw new WireError(`RTMP version ${c0c1[0]} (only ${RTMP_VERSION} is served)`);
  const c1 = c0c1.subarray(1);
  const out = new Uint8Array(1 + 2 * HANDSHAKE_SIZE);
  out[0] = RTMP_VERSION;
  const s1 = out.subarray(1, 1 + HANDSHAKE_SIZE);
  const s2 = out.subarray(1 + HANDSHAKE_SIZE);
  s1.set(randomBytes(HANDSHAKE_SIZE));
  new DataView(s1.buffer, s1.byteOffset).setUint32(0, now >>> 0);
  const client = validateC1(c1);
  if (!client) {
    // simple form (RTMP.md §1.3): S1 version zero, S2 echoes C1 (MonaServer, nginx, SRS)
    s1.fill(0, 4, 8);
    s2.set(c1);
    return { bytes: out, digest: false };
  }
  s1.set(SERVER_VERSION, 4);
  const offset = digestOffset(s1, client.scheme);
  s1.set(packetDigest(s1, offset, FMS_KEY), offset);
  s2.set(randomBytes(HANDSHAKE_SIZE - DIGEST_SIZE));
  const key = createHmac('sha256', FMS_FULL_KEY).update(client.digest).digest();
  const signature = createHmac('sha256', key)
    .update(s2.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE))
    .digest();
  s2.set(signature, HANDSHAKE_SIZE - DIGEST_SIZE);
  return { bytes: out, digest: true };
}

/** A digest C1 as Flash Player and ffmpeg build it (for tests and the project's own RTMP test client). */
export function clientC1(scheme: DigestScheme = 'A'): Uint8Array {
  const c1 = new Uint8Array(randomBytes(HANDSHAKE_SIZE));
  c1.fill(0, 0, 4);
  c1.set([9, 0, 124, 2], 4);
  const offset = digestOffset(c1, scheme);
  c1.set(packetDigest(c1, offset, FP_KEY), offset);
  return c1;
}

/** Checks an S1/S2 against a digest C1 as ffmpeg's player does (RTMP.md §1.5). */
export function verifyServerAnswer(c1: Uint8Array, s1: Uint8Array, s2: Uint8Array): boolean {
  const client = validateC1(c1);
  if (!client) return false;
  let s1ok = false;
  for (const scheme of ['A', 'B'] as const) {
    const offset = digestOffset(s1, scheme);
    if (Buffer.compare(packetDigest(s1, offset, FMS_KEY), s1.subarray(offset, offset + DIGEST_SIZE)) === 0) s1ok = true;
  }
  const key = createHmac('sha256', FMS_FULL_KEY).update(client.digest).digest();
  const signature = createHmac('sha256', key)
    .update(s2.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE))
    .digest();
  return s1ok && Buffer.compare(signature, s2.subarray(HANDSHAKE_SIZE - DIGEST_SIZE)) === 0;
}
