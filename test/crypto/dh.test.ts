import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KEY_POOL_SIZE,
  SUPPORTED_GROUPS,
  generateKeyPair,
  isValidPublicKey,
  pooledKeyPairs,
  takeKeyPair,
  type DHGroup,
} from '../../src/protocols/rtmfp/crypto/dh.ts';
import { fromHex, hex } from '../../src/bytes.ts';

const P2 = BigInt(
  '0x' +
    'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd' +
    'ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed' +
    'ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff',
);

function modpow(base: bigint, exponent: bigint, m: bigint): bigint {
  let r = 1n;
  base %= m;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) r = (r * base) % m;
    base = (base * base) % m;
  }
  return r;
}
const big = (b: Uint8Array): bigint => BigInt('0x' + hex(b));
const bytes = (n: bigint): Uint8Array => fromHex(n.toString(16).padStart(n.toString(16).length + (n.toString(16).length & 1), '0'));

test('SUPPORTED_GROUPS in preference order', () => {
  assert.deepEqual([...SUPPORTED_GROUPS], [16, 14, 2]);
});

test('two key pairs of each group agree, even when interleaved', () => {
  for (const group of SUPPORTED_GROUPS) {
    const a = generateKeyPair(group);
    const b = generateKeyPair(group);
    const c = generateKeyPair(group);
    assert.equal(a.group, group);
    assert.ok(a.publicKey.length <= { 2: 128, 14: 256, 16: 512 }[group] && a.publicKey[0] !== 0);
    const ab = a.computeSecret(b.publicKey)!;
    const ca = c.computeSecret(a.publicKey)!;
    assert.equal(hex(b.computeSecret(a.publicKey)!), hex(ab));
    assert.equal(hex(a.computeSecret(c.publicKey)!), hex(ca));
    assert.notEqual(hex(ab), hex(ca));
  }
});

test('fixed exponent: public key and secret equal a BigInt reference (group 2)', () => {
  const x = fromHex('87c29c3e704d5f790bc8f973ed86776110ffbb2a9253255be1c5af79');
  const pair = generateKeyPair(2, x);
  assert.equal(big(pair.publicKey), modpow(2n, big(x), P2));
  const peer = generateKeyPair(2);
  assert.equal(big(pair.computeSecret(peer.publicKey)!), modpow(big(peer.publicKey), big(x), P2));
});

test('a secret with a leading zero byte comes back stripped', () => {
  const x = new Uint8Array(28).fill(0x5a);
  x[0] = 0xc3;
  const y = new Uint8Array(28).fill(0x11);
  y[0] = 0x9e;
  y[26] = 0;
  y[27] = 4;
  const s = generateKeyPair(2, x).computeSecret(generateKeyPair(2, y).publicKey)!;
  assert.equal(s.length, 127);
  assert.notEqual(s[0], 0);
  const reference = modpow(modpow(2n, big(y), P2), big(x), P2);
  assert.equal(big(s), reference);
});

test('RFC 7425 §4.6.2 range and bit-count checks on the peer key', () => {
  const pair = generateKeyPair(2);
  const invalid: [string, Uint8Array][] = [
    ['zero', Uint8Array.of(0)],
    ['one', Uint8Array.of(1)],
    ['2^24 − 1', bytes((1n << 24n) - 1n)],
    ['p − 1', bytes(P2 - 1n)],
    ['p', bytes(P2)],
    ['p + 5', bytes(P2 + 5n)],
    ['a single one-bit', bytes(1n << 900n)],
    ['too few zero bits', bytes((1n << 40n) - 1n)],
  ];
  for (const [what, key] of invalid) {
    assert.equal(isValidPublicKey(2, key), false, what);
    assert.equal(pair.computeSecret(key), null, what);
  }
  assert.ok(isValidPublicKey(2, bytes(P2 - (1n << 24n))), 'p − 2^24 is the upper bound, inclusive');
  // zero bits are counted from the first non-zero byte: leading zero bytes do not make up for too few
  const fewZeros = new Uint8Array(128);
  fewZeros.set([0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 120);
  assert.equal(isValidPublicKey(2, fewZeros), false, 'padded key with 4 zero bits');
  // …but zero bytes after it count, eight zero bits each: 0xffff followed by zero bytes is a valid key
  const zeroBytesInside = new Uint8Array(128);
  zeroBytesInside.set([0xff, 0xff], 0);
  assert.ok(isValidPublicKey(2, zeroBytesInside), '16 one bits then 126 zero bytes');
  const peer = generateKeyPair(2);
  const padded = new Uint8Array(130);
  padded.set(peer.publicKey, 130 - peer.publicKey.length);
  assert.equal(hex(pair.computeSecret(padded)!), hex(pair.computeSecret(peer.publicKey)!), 'leading zeros are harmless');
});

test('unsupported group throws', () => {
  assert.throws(() => generateKeyPair(5 as DHGroup), RangeError);
});

test('takeKeyPair: precomputed between turns of the event loop, each pair handed out once, all agreeing', async () => {
  for (const group of [2, 16] as const) {
    const first = takeKeyPair(group);
    // the pool fills one pair per turn of the event loop, up to KEY_POOL_SIZE and no further
    for (let i = 0; i < KEY_POOL_SIZE + 4; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pooledKeyPairs(group), KEY_POOL_SIZE, `group ${group}: the pool is full and bounded`);
    const taken = [first, ...Array.from({ length: KEY_POOL_SIZE + 1 }, () => takeKeyPair(group))];
    const keys = new Set(taken.map((pair) => hex(pair.publicKey)));
    assert.equal(keys.size, taken.length, `group ${group}: no key pair given twice`);
    const peer = generateKeyPair(group);
    for (const pair of taken) {
      assert.equal(pair.group, group);
      assert.ok(isValidPublicKey(group, pair.publicKey));
      assert.deepEqual(pair.computeSecret(peer.publicKey), peer.computeSecret(pair.publicKey), 'both sides derive the same secret');
    }
  }
});
