import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  createServerCertificate,
  createStaticCertificate,
  parseCertificate,
  peerIdOf,
} from '../../src/protocols/rtmfp/crypto/certificate.ts';
import { generateKeyPair } from '../../src/protocols/rtmfp/crypto/dh.ts';
import { fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('server certificate: 01 0a | 02 15 02 | 02 15 0e | 02 15 10 | 41 0e <64>, 77 bytes', () => {
  const raw = createServerCertificate();
  assert.equal(raw.length, 77);
  assert.equal(hex(raw.subarray(0, 13)), '010a02150202150e021510410e');
  const c = parseCertificate(raw);
  assert.ok(c.acceptsAncillaryData);
  assert.deepEqual(c.ephemeralGroups, [2, 14, 16]);
  assert.equal(c.staticKeys.size, 0);
  assert.equal(hex(c.fingerprint), sha256(raw));
  assert.notEqual(hex(createServerCertificate()), hex(raw), 'fresh randomness');
  assert.deepEqual(parseCertificate(createServerCertificate([2])).ephemeralGroups, [2]);
});

test('Cumulus certificate: unknown group 5 left out, order kept', () => {
  const raw = fromHex('010a410e' + '00'.repeat(64) + '021502021505' + '02150e');
  assert.deepEqual(parseCertificate(raw).ephemeralGroups, [2, 14]);
});

test('static certificate: keys by group, lengths parsed not assumed', () => {
  const k16 = generateKeyPair(16),
    k2 = generateKeyPair(2);
  const shortKey = { group: 14 as const, publicKey: new Uint8Array(255).fill(7) };
  const raw = createStaticCertificate([k16, shortKey, k2]);
  const c = parseCertificate(raw);
  assert.deepEqual([...c.staticKeys.keys()], [16, 14, 2]);
  assert.equal(hex(c.staticKeys.get(16)!), hex(k16.publicKey));
  assert.equal(c.staticKeys.get(14)!.length, 255);
  assert.equal(c.acceptsAncillaryData, false);
  assert.deepEqual(c.ephemeralGroups, []);
  if (k2.publicKey.length === 128) assert.equal(hex(createStaticCertificate([k2]).subarray(0, 4)), '81021d02');
});

test('canonical part and fingerprint stop at the first marker; peer id hashes everything', () => {
  const raw = fromHex('010a 021502 00 021510'.replace(/ /g, ''));
  const c = parseCertificate(raw);
  assert.equal(hex(c.canonical), '010a02150200');
  assert.equal(hex(c.fingerprint), sha256(c.canonical));
  assert.deepEqual(c.ephemeralGroups, [2], 'options after the marker are ignored');
  assert.equal(hex(peerIdOf(raw)), sha256(raw));
});

test('malformed certificates throw WireError', () => {
  for (const bad of ['05 0a', '81', '03 15', '02 1d 02', '02 15 02 03 1d 02 01'.replace(/ /g, '')]) {
    assert.throws(() => parseCertificate(fromHex(bad.replace(/ /g, ''))), WireError, bad);
  }
});
