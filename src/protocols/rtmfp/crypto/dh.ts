// MODP Diffie-Hellman for RTMFP keying: groups 2 (RFC 2409 §6.2), 14 and 16 (RFC 3526 §3, §5), generator 2.
//
// Cost (Node 20, this machine, CPU time): constructing a DiffieHellman over the 1024-bit prime runs OpenSSL's
// parameter check, ~25 ms every time (groups 14/16 are recognised named groups: < 0.1 ms). So each group has
// ONE long-lived DiffieHellman, built on first use, and every key pair borrows it by setting its own private
// exponent before each operation (everything here is synchronous, so nothing interleaves). Measured per
// handshake, keygen + secret: group 2 0.13 ms, group 14 0.54 ms, group 16 3.1 ms. Alternatives measured for
// group 2: BigInt square-and-multiply 0.86 ms; generateKeyPairSync('dh') ×2 + diffieHellman() 0.69 ms.
// Private exponents are 224/320/480 bits with the top bit set, like rtmfp-cpp.
import { createDiffieHellman, getDiffieHellman, randomBytes, type DiffieHellman } from 'node:crypto';
import { fromHex } from '../../../bytes.ts';

export type DHGroup = 2 | 14 | 16;

/** Strongest first: the order an initiator prefers (RTMFP-7425-extensions.md A1.4). */
export const SUPPORTED_GROUPS: readonly DHGroup[] = Object.freeze([16, 14, 2] as DHGroup[]);

export interface DHKeyPair {
  readonly group: DHGroup;
  /** big-endian, minimal length (no leading zero byte) */
  readonly publicKey: Uint8Array;
  /** S with leading zero bytes stripped; null if the peer key fails the RFC 7425 §4.6.2 checks. */
  computeSecret(peerPublicKey: Uint8Array): Uint8Array | null;
}

export function isDHGroup(n: number): n is DHGroup {
  return n === 2 || n === 14 || n === 16;
}

const MODP_1024 = fromHex(
  'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd' +
    'ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed' +
    'ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff',
);

interface GroupContext {
  readonly dh: DiffieHellman;
  readonly prime: bigint;
  readonly exponentBytes: number;
}

const contexts = new Map<DHGroup, GroupContext>();

function context(group: DHGroup): GroupContext {
  let c = contexts.get(group);
  if (c === undefined) {
    // getDiffieHellman('modp2') would pay the 1024-bit check a second time, hence the literal prime.
    const prime = group === 2 ? MODP_1024 : getDiffieHellman(group === 14 ? 'modp14' : 'modp16').getPrime();
    c = {
      dh: createDiffieHellman(prime, 2),
      prime: toBigInt(prime),
      exponentBytes: group === 2 ? 28 : group === 14 ? 40 : 60,
    };
    contexts.set(group, c);
  }
  return c;
}

/** A fresh key pair, or the one of a fixed private exponent (vectors, tests). */
export function generateKeyPair(group: DHGroup, privateKey?: Uint8Array): DHKeyPair {
  if (!isDHGroup(group)) throw new RangeError(`unsupported DH group ${String(group)}`);
  const c = context(group);
  let exponent: Uint8Array;
  if (privateKey === undefined) {
    exponent = randomBytes(c.exponentBytes);
    exponent[0]! |= 0x80;
  } else {
    exponent = Uint8Array.from(privateKey);
  }
  c.dh.setPrivateKey(exponent);
  c.dh.generateKeys();
  const publicKey = stripLeadingZeros(new Uint8Array(c.dh.getPublicKey()));
  return {
    group,
    publicKey,
    computeSecret(peerPublicKey: Uint8Array): Uint8Array | null {
      if (!isValidPublicKey(group, peerPublicKey)) return null;
      try {
        c.dh.setPrivateKey(exponent);
        return stripLeadingZeros(new Uint8Array(c.dh.computeSecret(stripLeadingZeros(peerPublicKey))));
      } catch {
        return null;
      }
    },
  };
}

// ---- precomputed key pairs ----
// A responder's key pair is half of its handshake CPU (group 16: ~1.5 ms of ~3 ms). takeKeyPair() hands out a
// key pair computed earlier, between packets, and refills the pool of that group one key pair per turn of the
// event loop, so the handshake only pays computeSecret. Each pair still serves one session only (forward
// secrecy as before); under a burst longer than the pool, handshakes compute their own again. The CPU is
// moved off the answer's path, not saved.

/** Key pairs kept ready per group used so far. */
export const KEY_POOL_SIZE = 8;

const pools = new Map<DHGroup, DHKeyPair[]>();
const refilling = new Set<DHGroup>();

function refill(group: DHGroup): void {
  if (refilling.has(group)) return;
  refilling.add(group);
  const step = (): void => {
    const pool = pools.get(group)!;
    if (pool.length >= KEY_POOL_SIZE) {
      refilling.delete(group);
      return;
    }
    pool.push(generateKeyPair(group));
    // unref'd: a pool being filled never keeps a process alive
    setImmediate(step).unref();
  };
  setImmediate(step).unref();
}

/** Key pairs of `group` waiting in its pool (never more than KEY_POOL_SIZE: the pool's memory is bounded). */
export function pooledKeyPairs(group: DHGroup): number {
  return pools.get(group)?.length ?? 0;
}

/** A fresh key pair for one session: a precomputed one when the pool has it, else computed now. */
export function takeKeyPair(group: DHGroup): DHKeyPair {
  let pool = pools.get(group);
  if (pool === undefined) pools.set(group, (pool = []));
  const ready = pool.pop();
  refill(group);
  return ready ?? generateKeyPair(group);
}

const TWO_TO_24 = 1n << 24n;

/** RFC 7425 §4.6.2: 2^24 ≤ y ≤ p − 2^24, and at least 16 one-bits and 16 zero-bits counted from the first
 *  non-zero byte (the way rtmfp-cpp counts, so we reject exactly what it would). */
export function isValidPublicKey(group: DHGroup, key: Uint8Array): boolean {
  const c = context(group);
  const y = toBigInt(key);
  if (y < TWO_TO_24 || y > c.prime - TWO_TO_24) return false;
  let ones = 0;
  let zeros = 0;
  let started = false;
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    if (!started && b === 0) continue;
    started = true;
    const n = popcount8(b);
    ones += n;
    zeros += 8 - n;
  }
  return ones >= 16 && zeros >= 16;
}

function popcount8(b: number): number {
  b = b - ((b >>> 1) & 0x55);
  b = (b & 0x33) + ((b >>> 2) & 0x33);
  return (b + (b >>> 4)) & 0x0f;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return i === 0 ? bytes : bytes.subarray(i);
}
