// AES-128-CBC as RTMFP uses it (RTMFP.md §1.3): the IV is 16 zero bytes restarted for every packet and the
// protocol pads by itself, so the cipher works in place over whole blocks and never pads.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { unsafe } from '@noble/ciphers/aes.js';

/** RFC 7425 §4.1 default key, ASCII "Adobe Systems 02": startup packets and RIKeying. */
export const DEFAULT_KEY: Uint8Array = new TextEncoder().encode('Adobe Systems 02');

export interface BlockCipher {
  /** CBC-encrypts `data` in place; its length must be a multiple of 16. */
  encrypt(data: Uint8Array): void;
  /** CBC-decrypts `data` in place; its length must be a multiple of 16. */
  decrypt(data: Uint8Array): void;
}

export type CipherImpl = 'noble' | 'node';

export function createBlockCipher(key: Uint8Array, impl: CipherImpl = 'noble'): BlockCipher {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
  return impl === 'node' ? new NodeCbc(key) : new NobleCbc(key);
}

function checkBlocks(data: Uint8Array): void {
  if ((data.length & 15) !== 0) throw new RangeError(`AES-CBC length ${data.length} is not a multiple of 16`);
}

// noble's cbc() re-expands the key on every call; its `unsafe` export gives the expanded schedules and the
// single-block round function, so the key is expanded once per instance. (Measured on 1,200 bytes: public
// cbc() 6.8 µs encrypt / 7.6 µs decrypt, this 6.4 / 6.3 µs: the schedule is cheap next to 75 blocks.
// node:crypto below is ~2–3 µs.) noble's state words are
// little-endian; reading them byte by byte keeps the code independent of the buffer's alignment.
const { expandKeyLE, expandKeyDecLE, encrypt: encryptWords, decrypt: decryptWords } = unsafe;

function le32(d: Uint8Array, i: number): number {
  return d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24);
}

function put32(d: Uint8Array, i: number, v: number): void {
  d[i] = v;
  d[i + 1] = v >>> 8;
  d[i + 2] = v >>> 16;
  d[i + 3] = v >>> 24;
}

class NobleCbc implements BlockCipher {
  private readonly encKey: Uint32Array;
  private readonly decKey: Uint32Array;

  constructor(key: Uint8Array) {
    this.encKey = expandKeyLE(key);
    this.decKey = expandKeyDecLE(key);
  }

  encrypt(data: Uint8Array): void {
    checkBlocks(data);
    const xk = this.encKey;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let i = 0; i < data.length; i += 16) {
      const out = encryptWords(xk, s0 ^ le32(data, i), s1 ^ le32(data, i + 4), s2 ^ le32(data, i + 8), s3 ^ le32(data, i + 12));
      s0 = out.s0;
      s1 = out.s1;
      s2 = out.s2;
      s3 = out.s3;
      put32(data, i, s0);
      put32(data, i + 4, s1);
      put32(data, i + 8, s2);
      put32(data, i + 12, s3);
    }
  }

  decrypt(data: Uint8Array): void {
    checkBlocks(data);
    const xk = this.decKey;
    let p0 = 0,
      p1 = 0,
      p2 = 0,
      p3 = 0;
    for (let i = 0; i < data.length; i += 16) {
      const c0 = le32(data, i),
        c1 = le32(data, i + 4),
        c2 = le32(data, i + 8),
        c3 = le32(data, i + 12);
      const out = decryptWords(xk, c0, c1, c2, c3);
      put32(data, i, out.s0 ^ p0);
      put32(data, i + 4, out.s1 ^ p1);
      put32(data, i + 8, out.s2 ^ p2);
      put32(data, i + 12, out.s3 ^ p3);
      p0 = c0;
      p1 = c1;
      p2 = c2;
      p3 = c3;
    }
  }
}

// node:crypto: one long-lived context per direction, because creating one per packet costs more than the
// packet. Decryption is one ECB call over the whole packet, then the chaining XOR by hand. Encryption uses a
// long-lived CBC context, whose chaining value carries over from the previous packet: XOR-ing that value
// (the previous packet's last ciphertext block) into the first plaintext block cancels it, which restarts
// the IV at zero with a single native call. (ECB block by block measured ~48 µs per 1,200-byte packet,
// against ~3 µs for this.)
// A context is made on first use (a session's encryptor never decrypts, its decryptor never encrypts) and let
// go after IDLE_CONTEXT_MS unused: an idle session, one keepalive now and then, holds no native context
// (~1.5 KB of heap and the OpenSSL state each; 10,000 idle sessions, bench/README.md). Re-making one
// costs ~15 µs, once per keepalive of an idle session.
class NodeCbc implements BlockCipher {
  private readonly key: Uint8Array;
  private cbcEncrypt: Cipher | undefined;
  private ecbDecrypt: Decipher | undefined;
  /** chaining value of cbcEncrypt (zero for a fresh context, whose IV is zero) */
  private chain: Uint8Array | undefined;
  /** @internal used since the last sweep */
  used = false;

  constructor(key: Uint8Array) {
    // Buffer.from copies into Node's shared pool: no ArrayBuffer of its own per key
    this.key = Buffer.from(key);
  }

  /** @internal the sweep found it unused: the contexts go, made again on the next packet */
  release(): void {
    this.cbcEncrypt = undefined;
    this.ecbDecrypt = undefined;
    this.chain = undefined;
  }

  encrypt(data: Uint8Array): void {
    checkBlocks(data);
    const n = data.length;
    if (n === 0) return;
    if (this.cbcEncrypt === undefined || this.chain === undefined) {
      this.cbcEncrypt = createCipheriv('aes-128-cbc', this.key, new Uint8Array(16)).setAutoPadding(false);
      this.chain = new Uint8Array(16);
      hold(this);
    }
    this.used = true;
    const chain = this.chain;
    for (let j = 0; j < 16; j++) data[j]! ^= chain[j]!;
    const out = this.cbcEncrypt.update(data);
    data.set(out);
    chain.set(out.subarray(n - 16, n));
  }

  decrypt(data: Uint8Array): void {
    checkBlocks(data);
    if (data.length === 0) return;
    if (this.ecbDecrypt === undefined) {
      this.ecbDecrypt = createDecipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
      hold(this);
    }
    this.used = true;
    const plain = this.ecbDecrypt.update(data);
    // Walk backwards so each block still sees its predecessor's ciphertext in `data`.
    for (let i = data.length - 1; i >= 16; i--) data[i] = plain[i]! ^ data[i - 16]!;
    for (let i = 0; i < 16; i++) data[i] = plain[i]!;
  }
}

/** How long a context stays unused before it is let go (between one and two sweeps). */
export const IDLE_CONTEXT_MS = 5_000;
const holding = new Set<NodeCbc>();
let sweeper: ReturnType<typeof setInterval> | undefined;

/** One sweep for every cipher of the process (not a timer per session), running only while some hold a context. */
function hold(cipher: NodeCbc): void {
  holding.add(cipher);
  if (sweeper !== undefined) return;
  sweeper = setInterval(sweep, IDLE_CONTEXT_MS);
  sweeper.unref();
}

function sweep(): void {
  for (const cipher of holding) {
    if (cipher.used) {
      cipher.used = false;
    } else {
      cipher.release();
      holding.delete(cipher);
    }
  }
  if (holding.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}
