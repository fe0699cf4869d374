// AES-128-CBC as RTMFP uses it (RTMFP.md §1.3): the IV is 16 zero bytes restarted for every packet and the
// protocol pads by itself, so the cipher works in place over whole blocks and never pads.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { checkBlocks, type BlockCipher } from './block-cipher.ts';

/** RFC 7425 §4.1 default key, ASCII "Adobe Systems 02": startup packets and RIKeying. */
export const DEFAULT_KEY: Uint8Array = new TextEncoder().encode('Adobe Systems 02');

export type { BlockCipher };

export type CipherImpl = 'noble' | 'node';

// @noble/ciphers builds 1.3 MB of lookup tables when its module loads (a quarter of what an idle server's heap
// grew by on top of bare Node, issue 18), so it loads only for a process that asks for it: [RTMFP] cipher=noble,
// tests and benches that compare both implementations. node:crypto (the default) is in Node already.
let nobleCbc: typeof import('./noble-cbc.ts') | undefined;

/** Loads what `impl` needs; createBlockCipher(key, 'noble') requires it to have been awaited once. */
export async function loadBlockCipher(impl: CipherImpl): Promise<void> {
  if (impl === 'noble') nobleCbc ??= await import('./noble-cbc.ts');
}

export function createBlockCipher(key: Uint8Array, impl: CipherImpl = 'node'): BlockCipher {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
  if (impl === 'node') return new NodeCbc(key);
  if (nobleCbc === undefined) throw new Error("the noble AES implementation is not loaded: await loadBlockCipher('noble') first");
  return new nobleCbc.NobleCbc(key);
}

// node:crypto: one long-lived context per direction, because creating one per packet costs more than the
// packet. Encryption uses a long-lived CBC context, whose chaining value carries over from the previous
// packet: XOR-ing that value (the previous packet's last ciphertext block) into the first plaintext block
// cancels it, which restarts the IV at zero with a single native call. Decryption is the mirror image: the
// previous packet's last ciphertext block is XOR-ed out of the first plaintext block. (ECB block by block
// measured ~48 µs per 1,200-byte packet, against ~3 µs for this; ECB over the packet with the chaining XOR
// in JavaScript cost a loop over every byte, ~6 % of a relay player's CPU.)
// A context is made on first use (a session's encryptor never decrypts, its decryptor never encrypts) and let
// go after IDLE_CONTEXT_MS unused: an idle session, one keepalive now and then, holds no native context
// (~1.5 KB of heap and the OpenSSL state each; 10,000 idle sessions, bench/README.md). Re-making one
// costs ~15 µs, once per keepalive of an idle session.
class NodeCbc implements BlockCipher {
  private readonly key: Uint8Array;
  private cbcEncrypt: Cipher | undefined;
  private cbcDecrypt: Decipher | undefined;
  /** chaining value of cbcEncrypt (zero for a fresh context, whose IV is zero) */
  private chain: Uint8Array | undefined;
  /** chaining value of cbcDecrypt: the last ciphertext block it was given */
  private decryptChain: Uint8Array | undefined;
  /** @internal used since the last sweep */
  used = false;

  constructor(key: Uint8Array) {
    // Buffer.from copies into Node's shared pool: no ArrayBuffer of its own per key
    this.key = Buffer.from(key);
  }

  /** @internal the sweep found it unused: the contexts go, made again on the next packet */
  release(): void {
    this.cbcEncrypt = undefined;
    this.cbcDecrypt = undefined;
    this.chain = undefined;
    this.decryptChain = undefined;
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
    const n = data.length;
    if (n === 0) return;
    if (this.cbcDecrypt === undefined || this.decryptChain === undefined) {
      this.cbcDecrypt = createDecipheriv('aes-128-cbc', this.key, new Uint8Array(16)).setAutoPadding(false);
      this.decryptChain = new Uint8Array(16);
      hold(this);
    }
    this.used = true;
    // the context chains from the previous packet's last ciphertext block: XOR-ing it out of the first
    // plaintext block restarts the IV at zero (one native call, no chaining loop in JavaScript)
    const chain = this.decryptChain;
    const plain = this.cbcDecrypt.update(data);
    for (let j = 0; j < 16; j++) plain[j]! ^= chain[j]!;
    chain.set(data.subarray(n - 16, n));
    data.set(plain);
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
