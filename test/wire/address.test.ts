import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import {
  addressFrom,
  addressSize,
  equalAddress,
  formatAddress,
  parseAddress,
  readAddress,
  writeAddress,
  type RTMFPAddress,
} from '../../src/protocols/rtmfp/wire/address.ts';

function encode(a: RTMFPAddress): string {
  const w = new ByteWriter(64);
  writeAddress(w, a);
  return hex(w.view_());
}

test('§2.4 example: public IPv4 192.168.137.1:55655', () => {
  const a = readAddress(new ByteReader(fromHex('02c0a88901d967')));
  assert.deepEqual(a, { host: '192.168.137.1', port: 55655, family: 4, origin: 2 });
  assert.equal(encode(a), '02c0a88901d967');
  assert.equal(addressSize(a), 7);
});

test('IPv6 addresses and origins', () => {
  const bytes = '83' + '20010db8000000000000000000000001' + '0050';
  const a = readAddress(new ByteReader(fromHex(bytes)));
  assert.deepEqual(a, { host: '2001:db8::1', port: 80, family: 6, origin: 3 });
  assert.equal(encode(a), bytes);
  assert.equal(addressSize(a), 19);
  const mapped = readAddress(new ByteReader(fromHex('80' + '00000000000000000000ffff01020304' + '0001')));
  assert.equal(mapped.host, '::ffff:1.2.3.4');
  assert.equal(encode(mapped), '80' + '00000000000000000000ffff01020304' + '0001');
});

test('truncated addresses throw WireError; bad hosts cannot be written', () => {
  assert.throws(() => readAddress(new ByteReader(fromHex('02c0a889'))), WireError);
  assert.throws(() => readAddress(new ByteReader(fromHex('80c0a88901d967'))), WireError);
  assert.throws(() => encode({ host: 'example.com', port: 1, family: 4, origin: 0 }), WireError);
  assert.throws(() => encode({ host: '1.2.3.4', port: 1, family: 6, origin: 0 }), WireError);
});

test('parseAddress', () => {
  assert.deepEqual(parseAddress('192.168.202.99:55655', 1), { host: '192.168.202.99', port: 55655, family: 4, origin: 1 });
  assert.deepEqual(parseAddress('[::1]:1935'), { host: '::1', port: 1935, family: 6, origin: 0 });
  assert.deepEqual(parseAddress('[2001:DB8:0:0:1:0:0:1]:2'), { host: '2001:db8::1:0:0:1', port: 2, family: 6, origin: 0 });
  assert.deepEqual(parseAddress('[fe80::1%eth0]:5'), { host: 'fe80::1', port: 5, family: 6, origin: 0 });
  assert.deepEqual(parseAddress('[::ffff:10.0.0.1]:5'), { host: '10.0.0.1', port: 5, family: 4, origin: 0 });
  for (const bad of [
    'example.com:1935',
    '1.2.3.4',
    '1.2.3.4:',
    '1.2.3.4:65536',
    '1.2.3.4:-1',
    '1.2.3.256:1',
    '::1:5',
    '[::1]',
    '[1::2::3]:4',
    '',
    ':5',
  ]) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

test('addressFrom normalises what a socket reports', () => {
  assert.deepEqual(addressFrom('::ffff:127.0.0.1', 5000, 2), { host: '127.0.0.1', port: 5000, family: 4, origin: 2 });
  assert.deepEqual(addressFrom('::1', 5000), { host: '::1', port: 5000, family: 6, origin: 0 });
  assert.equal(addressFrom('localhost', 5000), null);
  assert.equal(addressFrom('1.2.3.4', 70000), null);
});

test('formatAddress', () => {
  assert.equal(formatAddress({ host: '1.2.3.4', port: 5 }), '1.2.3.4:5');
  assert.equal(formatAddress({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(formatAddress({ host: '::1', port: 5, family: 6 }), '[::1]:5');
  assert.ok(equalAddress(parseAddress('1.2.3.4:5', 1)!, parseAddress('1.2.3.4:5', 2)!), 'origin is not identity');
});

test('property: any address survives bytes → text → bytes', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 3 }),
      (v6, raw, port, origin) => {
        const w = new ByteWriter(64);
        w.u8((v6 ? 0x80 : 0) | origin)
          .write(v6 ? raw : raw.subarray(0, 4))
          .u16(port);
        const bytes = w.bytes();
        const a = readAddress(new ByteReader(bytes));
        assert.equal(encode(a), hex(bytes));
        const again = parseAddress(formatAddress(a), a.origin);
        if (a.family === 6 && a.host.startsWith('::ffff:') && a.host.includes('.')) {
          assert.equal(again?.family, 4, 'mapped IPv4 text comes back as IPv4');
        } else {
          assert.deepEqual(again, a);
        }
      },
    ),
    { numRuns: 3000 },
  );
});
