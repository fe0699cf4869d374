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
// packet. Decryption is one ECB call over the whole packet, then the chaining XOR by hand. Encryption uses a
// long-lived CBC context, whose chaining value carries over from the previous packet: XOR-ing that value
// (the previous packet's last ciphertext block) into the first plaintext block cancels it, which restarts
// the IV at zero with a single native call. (ECB block by block measured ~48 µs per 1,200-byte packet,
// against ~3 µs for this.)
class NodeCbc implements BlockCipher {
  private readonly cbcEncrypt: Cipher;
  private readonly ecbDecrypt: Decipher;
  private readonly chain = new Uint8Array(16);

  constructor(key: Uint8Array) {
    this.cbcEncrypt = createCipheriv('aes-128-cbc', key, new Uint8Array(16)).setAutoPadding(false);
    this.ecbDecrypt = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  encrypt(data: Uint8Array): void {
    checkBlocks(data);
    const n = data.length;
    if (n === 0) return;
    const chain = this.chain;
    for (let j = 0; j < 16; j++) data[j]! ^= chain[j]!;
    const out = this.cbcEncrypt.update(data);
    data.set(out);
    chain.set(out.subarray(n - 16, n));
  }

  decrypt(data: Uint8Array): void {
    checkBlocks(data);
    if (data.length === 0) return;
    const plain = this.ecbDecrypt.update(data);
    // Walk backwards so each block still sees its predecessor's ciphertext in `data`.
    for (let i = data.length - 1; i >= 16; i--) data[i] = plain[i]! ^ data[i - 16]!;
    for (let i = 0; i < 16; i++) data[i] = plain[i]!;
  }
}
