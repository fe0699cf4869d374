import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { DEFAULT_KEY, createBlockCipher, loadBlockCipher, type CipherImpl } from '../../src/protocols/rtmfp/crypto/aes.ts';
import { hex } from '../../src/bytes.ts';

await loadBlockCipher('noble');

const IMPLS: CipherImpl[] = ['noble', 'node'];

function reference(key: Uint8Array, data: Uint8Array): string {
  const c = createCipheriv('aes-128-cbc', key, new Uint8Array(16)).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]).toString('hex');
}

test('DEFAULT_KEY is "Adobe Systems 02"', () => {
  assert.equal(hex(DEFAULT_KEY), '41646f62652053797374656d73203032');
});

test('both implementations equal AES-128-CBC with a zero IV restarted per call, in place', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(
        fc.uint8Array({ minLength: 0, maxLength: 96 }).map((b) => b.subarray(0, b.length & ~15)),
        { minLength: 1, maxLength: 4 },
      ),
      (key, packets) => {
        const ciphers = IMPLS.map((impl) => createBlockCipher(key, impl));
        for (const packet of packets) {
          const expected = reference(key, packet);
          for (const c of ciphers) {
            const data = Uint8Array.from(packet);
            c.encrypt(data);
            assert.equal(hex(data), expected);
            c.decrypt(data);
            assert.equal(hex(data), hex(packet));
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('works on unaligned views inside a larger buffer', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const backing = Uint8Array.from({ length: 4 + 48 + 3 }, (_, i) => i * 7);
  const plain = backing.slice(4, 52);
  for (const impl of IMPLS) {
    const view = backing.subarray(4, 52);
    createBlockCipher(key, impl).encrypt(view);
    assert.equal(hex(view), reference(key, plain), impl);
    createBlockCipher(key, impl).decrypt(view);
    assert.equal(hex(view), hex(plain), impl);
  }
});

test('rejects bad key and data lengths', () => {
  for (const impl of IMPLS) {
    assert.throws(() => createBlockCipher(new Uint8Array(15), impl), RangeError);
    assert.throws(() => createBlockCipher(DEFAULT_KEY, impl).encrypt(new Uint8Array(17)), RangeError);
    assert.throws(() => createBlockCipher(DEFAULT_KEY, impl).decrypt(new Uint8Array(8)), RangeError);
  }
});

test('node: a context let go while idle is made again, and packets still equal AES-CBC with a zero IV', () => {
  const key = DEFAULT_KEY;
  const cipher = createBlockCipher(key, 'node') as ReturnType<typeof createBlockCipher> & { release(): void };
  const packets = [new Uint8Array(48).fill(7), new Uint8Array(32).fill(9), new Uint8Array(16).fill(1)];
  for (const packet of packets) {
    const data = packet.slice();
    cipher.encrypt(data);
    assert.equal(hex(data), reference(key, packet));
    cipher.decrypt(data);
    assert.deepEqual(data, packet);
    // as the idle sweep does between two packets
    cipher.release();
  }
});
