// The server link's bytes against MonaServer v1's worked examples (MonaServer-behaviour.md §1.8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, ReceivingRefs, SendingRefs, encodeHello, encodeReject, read7Bit, write7Bit } from '../../src/servers/wire.ts';
import { helloPairs, publicAddressOf } from '../../src/servers/hello.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('hello, reject and handler frames are MonaServer bytes', () => {
  assert.equal(hex(encodeHello([['k', 'v']])), '000000070000010' + '16b0176');
  assert.equal(hex(encodeReject('go away')), hex(bytes('00 00 00 0B 00 00 00 07 67 6F 20 61 77 61 79')));
  const refs = new SendingRefs();
  const payload = bytes('11 06 05 6D 31 11 04 2A');
  assert.equal(hex(refs.frame(text('hello'), payload)), hex(bytes('00 00 00 0E 05 68 65 6C 6C 6F 11 06 05 6D 31 11 04 2A')));
  assert.equal(hex(refs.frame(text('hello'), payload)), hex(bytes('00 00 00 0A 00 01 11 06 05 6D 31 11 04 2A')));
  assert.equal(hex(refs.frame(text('other'), new Uint8Array(0))), hex(bytes('00 00 00 06 05 6F 74 68 65 72')));
  assert.equal(hex(refs.frame(text('other'), new Uint8Array(0))), hex(bytes('00 00 00 02 00 02')));
});

test('7-bit values are LEB128 (300 is AC 02), at most 5 bytes', () => {
  const out: number[] = [];
  write7Bit(out, 300);
  assert.deepEqual(out, [0xac, 0x02]);
  assert.equal(read7Bit(Uint8Array.from(out), { offset: 0 }), 300);
  assert.throws(() => read7Bit(bytes('ff ff ff ff ff 01'), { offset: 0 }), /longer than 5 bytes/);
  assert.throws(() => read7Bit(bytes('ff'), { offset: 0 }), /past the end/);
});

test('frames decode whatever the TCP chunking; references resolve; unknown ones name nothing', () => {
  const refs = new SendingRefs();
  const stream = Buffer.concat([
    encodeHello([
      ['a', '1'],
      ['servers.targets', '127.0.0.1:1?x=1'],
    ]),
    refs.frame(text('h'), bytes('05')),
    refs.frame(text('h'), bytes('01 01')),
    bytes('00 00 00 02 00 07'),
    encodeReject('bye'),
  ]);
  const reader = new FrameReader(1024);
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 3) bodies.push(...reader.push(stream.subarray(i, i + 3)));
  const receiving = new ReceivingRefs();
  const frames = bodies.map((b) => receiving.decode(b));
  assert.deepEqual(frames[0], {
    kind: 'hello',
    pairs: [
      ['a', '1'],
      ['servers.targets', '127.0.0.1:1?x=1'],
    ],
  });
  assert.deepEqual(frames[1], { kind: 'message', handler: 'h', ref: 1, payload: bytes('05') });
  assert.deepEqual(frames[2], { kind: 'message', handler: 'h', ref: 1, payload: bytes('01 01') });
  assert.deepEqual(frames[3], { kind: 'message', handler: '', ref: 7, payload: new Uint8Array(0) });
  assert.deepEqual(frames[4], { kind: 'reject', text: 'bye' });
  assert.equal(reader.pending, 0);
});

test('a frame over the limit is refused before it is buffered; truncated control frames are errors', () => {
  const reader = new FrameReader(16);
  assert.throws(() => reader.push(bytes('00 00 00 11')), /over the 16 bytes limit/);
  const receiving = new ReceivingRefs();
  assert.throws(() => receiving.decode(bytes('00 00 01 05 61')), /overruns/);
  assert.throws(() => receiving.decode(bytes('09 61')), /overruns/);
  assert.throws(() => receiving.decode(bytes('00 00')), /flag/);
  assert.throws(() => receiving.decode(new Uint8Array(0)), /empty/);
});

test('the hello: byte-ordered keys, secrets left out, public addresses and the Nimbus marker in', () => {
  const pairs = helloPairs({
    raw: {
      '': { host: 'www.example.com:1935' },
      servers: { port: '1936', secret: 's3' },
      inspector: { token: 't' },
      RTMFP: { port: '1935' },
    },
    publicAddresses: { RTMFP: '1.2.3.4:1935' },
  });
  assert.deepEqual(pairs, [
    ['RTMFP.port', '1935'],
    ['RTMFP.publicAddress', '1.2.3.4:1935'],
    ['host', 'www.example.com:1935'],
    ['nimbus.link', '1'],
    ['servers.port', '1936'],
  ]);
  assert.equal(publicAddressOf('', 1935, '127.0.0.1:1935'), '127.0.0.1:1935');
  assert.equal(publicAddressOf('10.0.0.1', 1940, 'x'), '10.0.0.1:1940');
  assert.equal(publicAddressOf('10.0.0.1:80', 1940, 'x'), '10.0.0.1:80');
  assert.equal(publicAddressOf('::1', 1940, 'x'), '[::1]:1940');
});
