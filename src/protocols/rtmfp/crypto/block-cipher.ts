// The seam both AES-128-CBC implementations fill (aes.ts: node:crypto; noble-cbc.ts: @noble/ciphers).

export interface BlockCipher {
  /** CBC-encrypts `data` in place; its length must be a multiple of 16. */
  encrypt(data: Uint8Array): void;
  /** CBC-decrypts `data` in place; its length must be a multiple of 16. */
  decrypt(data: Uint8Array): void;
}

export function checkBlocks(data: Uint8Array): void {
  if ((data.length & 15) !== 0) throw new RangeError(`AES-CBC length ${data.length} is not a multiple of 16`);
}
