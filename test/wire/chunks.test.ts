import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ByteReader, ByteWriter, decodeVLU, encodeVLU, fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import { readPacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { findOption, readOptionList, writeOption, encodeOptionList, optionListSize } from '../../src/protocols/rtmfp/wire/options.ts';
import {
  CHUNK,
  USER_DATA_FLAG,
  ackSize,
  decodeChunks,
  isUnknownChunk,
  userDataHeaderSize,
  nextUserDataHeaderSize,
  writeBitmapAck,
  writeChunk,
  writeUserData,
  type Chunk,
  type UserDataChunk,
} from '../../src/protocols/rtmfp/wire/chunks.ts';

// Writers sized generously: these tests are about the codecs, not about ByteWriter growth.
const writer = (): ByteWriter => new ByteWriter(1 << 16);

function encode(...chunks: Chunk[]): Uint8Array {
  const w = writer();
  for (const c of chunks) writeChunk(w, c);
  return w.bytes();
}

function roundTrip(chunk: Chunk): Chunk {
  const bytes = encode(chunk);
  const decoded = decodeChunks(bytes, 0);
  assert.equal(decoded.length, 1);
  assert.equal(hex(encode(decoded[0]!)), hex(bytes), 're-encoding the decoded chunk gives the same bytes');
  return decoded[0]!;
}

const tag = fromHex('2175b73f525fa0dd1f75ae339a706cc3');
const peerId = fromHex('9210df7cb656cad82a607efd810e6c3f922a062ec7dae6df0f39e8a7248dcbf8');

test('VLU table of RTMFP.md §2.2', () => {
  const table: Array<[number, string]> = [
    [0, '00'],
    [0x7f, '7f'],
    [0x80, '8100'],
    [130, '8102'],
    [0x3fff, 'ff7f'],
    [0x4000, '818000'],
    [0x200000, '81808000'],
  ];
  for (const [value, bytes] of table) {
    assert.equal(hex(encodeVLU(value)), bytes);
    assert.equal(new ByteReader(fromHex(bytes)).vlu(), value);
    assert.equal(decodeVLU(fromHex(`5443${bytes}`), 2), value, 'decodeVLU at an offset');
    assert.equal(hex(new ByteWriter(1).u8(0xee).vlu(value).view_()), `ee${bytes}`, 'ByteWriter.vlu writes in place');
  }
});

test('ByteWriter.vlu writes what encodeVLU returns; writeRange what a subarray holds', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.nat(), (v, bytes, a, b) => {
      assert.equal(hex(new ByteWriter(2).vlu(v).view_()), hex(encodeVLU(v)));
      const start = Math.min(a, b) % (bytes.length + 1);
      const end = start + (Math.max(a, b) % (bytes.length - start + 1));
      assert.equal(hex(new ByteWriter(1).writeRange(bytes, start, end).view_()), hex(bytes.subarray(start, end)));
    }),
  );
  assert.throws(() => new ByteWriter().vlu(-1), WireError);
  assert.throws(() => new ByteWriter().vlu(1.5), WireError);
});

test('decodeVLU: -1 when the VLU runs past the bytes or its byte limit', () => {
  assert.equal(decodeVLU(fromHex('8181')), -1);
  assert.equal(decodeVLU(fromHex('')), -1);
  assert.equal(decodeVLU(fromHex('81808000'), 0, 3), -1);
  assert.equal(decodeVLU(fromHex('81808000'), 0, 4), 0x200000);
  assert.equal(decodeVLU(fromHex('818000ff'), 0), 0x4000, 'bytes after the VLU are not read');
});

test('option example of §2.3 and option lists', () => {
  const value = new Uint8Array(32).fill(7);
  const w = writer();
  writeOption(w, 0x0f, value);
  assert.equal(hex(w.view_().subarray(0, 2)), '210f');
  w.u8(0);
  w.write(fromHex('aa')); // after the marker: not part of the list
  const r = new ByteReader(w.bytes());
  const list = readOptionList(r);
  assert.equal(list.length, 1);
  assert.equal(list[0]!.type, 0x0f);
  assert.deepEqual(list[0]!.value, value);
  assert.equal(r.position, 35, 'the marker is consumed');
  assert.equal(findOption(list, 0x0f)?.value.length, 32);
  assert.equal(findOption(list, 0x0a), undefined);

  const encoded = encodeOptionList([
    { type: 0, value: fromHex('54430400') },
    { type: 0x0a, value: fromHex('02') },
  ]);
  assert.equal(hex(encoded), '050054430400020a0200');
  assert.equal(
    optionListSize([
      { type: 0, value: fromHex('54430400') },
      { type: 0x0a, value: fromHex('02') },
    ]),
    encoded.length,
  );

  assert.throws(() => readOptionList(new ByteReader(fromHex('05 00 54'))), WireError);
  assert.throws(() => readOptionList(new ByteReader(fromHex('03 0a 01 02 03')), 3), WireError, 'option overruns end');
  assert.throws(() => readOptionList(new ByteReader(fromHex('01 8f 01'))), WireError, 'type longer than the option');
});

// --- the real Flash Player 11.7 capture (RTMFP.md §3.12) ----------------------------------------------------

const CAPTURE = new URL('../../../shared/vectors/flash-11.7/', import.meta.url);
const KEYS = {
  default: hex(new TextEncoder().encode('Adobe Systems 02')),
  clientToServer: 'ca3e6206c4fe662bbd950e8d03574e35',
  serverToClient: 'bc4b145aafb0f8287b3cf87bd036acf0',
};

/** Cleartext from the flags byte on (the checksum is someone else's business). */
function captured(name: string, key: keyof typeof KEYS): Uint8Array {
  const raw = readFileSync(new URL(`${name}.dat`, CAPTURE));
  const d = createDecipheriv('aes-128-cbc', Buffer.from(KEYS[key], 'hex'), Buffer.alloc(16));
  d.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(raw.subarray(4)), d.final()])).subarray(2);
}

const PACKETS: Array<[string, keyof typeof KEYS]> = [
  ['IHello', 'default'],
  ['RHello', 'default'],
  ['IIKeying', 'default'],
  ['RIKeying', 'default'],
  ['5', 'clientToServer'],
  ['6', 'serverToClient'],
  ['7', 'clientToServer'],
  ['8', 'clientToServer'],
  ['9', 'serverToClient'],
  ['10', 'clientToServer'],
  ['11', 'clientToServer'],
];

test('every captured packet decodes up to its padding and re-encodes byte for byte', () => {
  for (const [name, key] of PACKETS) {
    const clear = captured(name, key);
    const header = readPacketHeader(clear);
    const chunks = decodeChunks(clear, header.chunksOffset);
    assert.ok(chunks.length > 0, name);
    const bytes = encode(...chunks);
    const end = header.chunksOffset + bytes.length;
    assert.equal(hex(bytes), hex(clear.subarray(header.chunksOffset, end)), name);
    assert.ok(
      clear.subarray(end).every((b) => b === 0xff),
      `${name}: only padding after the chunks`,
    );
    for (const c of chunks) assert.ok(!isUnknownChunk(c), name);
  }
});

test('captured handshake chunks (§3.12)', () => {
  const [ihello] = decodeChunks(captured('IHello', 'default'), 3);
  assert.ok(ihello && ihello.type === CHUNK.IHELLO && !isUnknownChunk(ihello));
  assert.equal(ihello.epdRaw.length, 26);
  assert.equal(new TextDecoder().decode(findOption(ihello.epd, 0x0a)!.value), 'rtmfp://192.168.137.183/');
  assert.equal(hex(ihello.tag), hex(tag));

  const [rhello] = decodeChunks(captured('RHello', 'default'), 3) as Array<Extract<Chunk, { type: 0x70 }>>;
  assert.equal(rhello!.cookie.length, 64);
  assert.equal(rhello!.certificate.length, 77);
  assert.equal(hex(rhello!.certificate.subarray(0, 4)), '010a410e');

  const [iikeying] = decodeChunks(captured('IIKeying', 'default'), 3) as Array<Extract<Chunk, { type: 0x38 }>>;
  assert.equal(iikeying!.initiatorSessionId, 0x02000000);
  assert.equal(iikeying!.certificate.length, 132);
  assert.equal(iikeying!.skic.length, 76);
  assert.equal(hex(iikeying!.signature), '58');
  assert.equal(iikeying!.signedParameters.length, 4 + 1 + 64 + 2 + 132 + 1 + 76);
  assert.equal(hex(iikeying!.signedParameters.subarray(0, 4)), '02000000');

  const [rikeying] = decodeChunks(captured('RIKeying', 'default'), 3) as Array<Extract<Chunk, { type: 0x78 }>>;
  assert.equal(rikeying!.responderSessionId, 1);
  assert.equal(rikeying!.skrc.length, 139);
  assert.equal(hex(rikeying!.signature), '58');
});

test('captured session chunks (§3.12): connect, ack + _result, setPeerInfo, close ack', () => {
  const clear5 = captured('5', 'clientToServer');
  const [connect] = decodeChunks(clear5, readPacketHeader(clear5).chunksOffset) as UserDataChunk[];
  assert.equal(connect!.flowId, 2);
  assert.equal(connect!.sequence, 1);
  assert.equal(connect!.fsnOffset, 1);
  assert.equal(connect!.flags, USER_DATA_FLAG.OPTIONS);
  assert.equal(hex(findOption(connect!.options!, 0)!.value), '54430400');
  assert.equal(hex(connect!.data.subarray(0, 5)), '1400000000');
  assert.equal(connect!.data.buffer, clear5.buffer, 'data is a view into the cleartext');

  const clear6 = captured('6', 'serverToClient');
  const chunks6 = decodeChunks(clear6, 5);
  assert.deepEqual(chunks6[0], { type: 0x51, flowId: 2, bufferBlocks: 0x7f, cumulativeAck: 1, ranges: [] });
  const result = chunks6[1] as UserDataChunk;
  assert.equal(result.flowId, 1);
  assert.equal(hex(findOption(result.options!, 0x0a)!.value), '02');

  const [ack7] = decodeChunks(captured('7', 'clientToServer'), 5);
  assert.deepEqual(ack7, { type: 0x51, flowId: 1, bufferBlocks: 16383, cumulativeAck: 1, ranges: [] });

  const [peerInfo] = decodeChunks(captured('8', 'clientToServer'), 5) as UserDataChunk[];
  assert.equal(peerInfo!.options, null);
  assert.equal(peerInfo!.sequence, 2);
  assert.equal(peerInfo!.next, false);

  assert.deepEqual(decodeChunks(captured('11', 'clientToServer'), 5), [{ type: 0x4c }]);
});

// --- byte examples from RTMFP.md ---------------------------------------------------------------------------

test('§3.12 packet 6 cleartext: ack 51 0003 02 7f 01 and the user data header', () => {
  assert.equal(hex(encode({ type: 0x51, flowId: 2, bufferBlocks: 0x7f, cumulativeAck: 1, ranges: [] })), '510003027f01');

  const body = new Uint8Array(0xa5 - 14).fill(0x14);
  const chunk: UserDataChunk = {
    type: 0x10,
    flags: USER_DATA_FLAG.OPTIONS,
    flowId: 1,
    sequence: 1,
    fsnOffset: 1,
    options: [
      { type: 0, value: fromHex('54430400') },
      { type: 0x0a, value: fromHex('02') },
    ],
    data: body,
    next: false,
  };
  const bytes = encode(chunk);
  assert.equal(hex(bytes.subarray(0, 17)), '1000a580010101050054430400020a0200');
  const options = encodeOptionList(chunk.options!);
  assert.equal(userDataHeaderSize(1, 1, 1, options), 17);
  assert.equal(bytes.length, 17 + body.length);
  const w = writer();
  writeUserData(w, 0, 1, 1, 1, options, body);
  assert.equal(hex(w.view_()), hex(bytes), 'writeUserData sets OPT from the options argument');
});

test('§2.6 and §4.6 ack examples', () => {
  assert.equal(hex(encode({ type: 0x51, flowId: 1, bufferBlocks: 16383, cumulativeAck: 1, ranges: [] })), '51000401ff7f01');
  const ack: Chunk = {
    type: 0x51,
    flowId: 3,
    bufferBlocks: 0x7f,
    cumulativeAck: 5,
    ranges: [
      [8, 9],
      [12, 12],
    ],
  };
  const bytes = encode(ack);
  assert.equal(hex(bytes), '510007037f0501010100');
  assert.deepEqual(decodeChunks(bytes, 0), [ack]);
  assert.equal(
    ackSize(3, 0x7f, 5, [
      [8, 9],
      [12, 12],
    ]),
    bytes.length,
  );
  assert.throws(() => encode({ type: 0x51, flowId: 3, bufferBlocks: 1, cumulativeAck: 5, ranges: [[6, 7]] }), RangeError);
  assert.throws(
    () =>
      encode({
        type: 0x51,
        flowId: 3,
        bufferBlocks: 1,
        cumulativeAck: 5,
        ranges: [
          [8, 9],
          [10, 11],
        ],
      }),
    RangeError,
  );
});

test('§6.3 worked FIHello and Redirect layouts', () => {
  const epdRaw = fromHex('210f' + hex(peerId));
  const fihello: Chunk = {
    type: 0x0f,
    epd: [{ type: 0x0f, value: peerId }],
    epdRaw,
    replyAddress: { host: '203.0.113.5', port: 50000, family: 4, origin: 2 },
    tag,
  };
  const fiBytes = encode(fihello);
  assert.equal(hex(fiBytes), `0f003a22210f${hex(peerId)}02cb007105c350${hex(tag)}`);
  assert.deepEqual(roundTrip(fihello), fihello);

  const redirect: Chunk = {
    type: 0x71,
    tag,
    addresses: [
      { host: '198.51.100.7', port: 1935, family: 4, origin: 2 },
      { host: '192.168.202.99', port: 55655, family: 4, origin: 1 },
    ],
  };
  const rBytes = encode(redirect);
  assert.equal(hex(rBytes), `71001f10${hex(tag)}02c6336407078f01c0a8ca63d967`);
  assert.deepEqual(roundTrip(redirect), redirect);
  assert.deepEqual(roundTrip({ type: 0x71, tag, addresses: [] }), { type: 0x71, tag, addresses: [] });
});

// --- every chunk type ----------------------------------------------------------------------------------------

test('every chunk type round-trips', () => {
  const v6 = { host: '2001:db8::1', port: 1, family: 6 as const, origin: 3 as const };
  const cases: Chunk[] = [
    { type: 0x30, epd: [{ type: 0x0a, value: fromHex('6869') }], epdRaw: fromHex('030a6869'), tag },
    { type: 0x0f, epd: [{ type: 0x0f, value: peerId }], epdRaw: fromHex('210f' + hex(peerId)), replyAddress: v6, tag },
    { type: 0x70, tag, cookie: new Uint8Array(64).fill(1), certificate: fromHex('010a02150e') },
    { type: 0x71, tag, addresses: [v6, { host: '10.0.0.1', port: 65535, family: 4, origin: 0 }] },
    { type: 0x79, oldCookie: new Uint8Array(64).fill(2), newCookie: new Uint8Array(70).fill(3) },
    { type: 0x78, responderSessionId: 0xdeadbeef, skrc: new Uint8Array(200).fill(4), signature: fromHex('58') },
    { type: 0x01, payload: fromHex('0102') },
    { type: 0x01, payload: new Uint8Array(0) },
    { type: 0x41, payload: fromHex('0102') },
    { type: 0x51, flowId: 300, bufferBlocks: 0, cumulativeAck: 1 << 20, ranges: [[(1 << 20) + 2, (1 << 20) + 500]] },
    { type: 0x18, flowId: 5 },
    { type: 0x5e, flowId: 5, code: 0 },
    { type: 0x0c },
    { type: 0x4c },
    { type: 0x77, unknown: true, payload: fromHex('abcdef') },
  ];
  for (const c of cases) assert.deepEqual(roundTrip(c), c, `type 0x${c.type.toString(16)}`);

  const skic = new Uint8Array(76).fill(5);
  const decoded = roundTrip({
    type: 0x38,
    initiatorSessionId: 7,
    cookie: new Uint8Array(64),
    certificate: new Uint8Array(132).fill(9),
    skic,
    signedParameters: new Uint8Array(0),
    signature: fromHex('58'),
  });
  assert.ok(decoded.type === 0x38 && 'skic' in decoded);
  assert.deepEqual(decoded.skic, skic);
  assert.equal(decoded.signedParameters.length, 4 + 1 + 64 + 2 + 132 + 1 + 76);
});

test('user data and next user data', () => {
  const first: UserDataChunk = {
    type: 0x10,
    flags: USER_DATA_FLAG.OPTIONS | USER_DATA_FLAG.BEGIN,
    flowId: 200,
    sequence: 1000,
    fsnOffset: 3,
    options: [{ type: 0, value: fromHex('4743') }],
    data: fromHex('aabb'),
    next: false,
  };
  const second: UserDataChunk = {
    type: 0x10,
    flags: USER_DATA_FLAG.MIDDLE,
    flowId: 200,
    sequence: 1001,
    fsnOffset: 4,
    options: null,
    data: fromHex('cc'),
    next: true,
  };
  const third: UserDataChunk = {
    type: 0x10,
    flags: USER_DATA_FLAG.OPTIONS | USER_DATA_FLAG.END | USER_DATA_FLAG.FINAL,
    flowId: 200,
    sequence: 1002,
    fsnOffset: 5,
    options: [],
    data: new Uint8Array(0),
    next: true,
  };
  const bytes = encode(first, { type: 0x41, payload: new Uint8Array(0) }, second, third);
  const firstSize = userDataHeaderSize(200, 1000, 3, encodeOptionList(first.options!)) + first.data.length;
  assert.equal(hex(bytes.subarray(firstSize)), '410000' + '110002' + '30cc' + '110002' + 'a100');
  assert.deepEqual(decodeChunks(bytes, 0), [first, { type: 0x41, payload: new Uint8Array(0) }, second, third]);
  assert.equal(nextUserDataHeaderSize(), 4);

  assert.throws(() => decodeChunks(fromHex('110002 00 aa'), 0), WireError, '0x11 first in the packet');
  assert.throws(() => decodeChunks(fromHex('100004 00 01 01 02'), 0), WireError, 'fsnOffset above the sequence');
  assert.throws(() => decodeChunks(fromHex('100003 00 01 81'), 0), WireError, 'VLU past the chunk');
  assert.throws(() => decodeChunks(fromHex('100005 80 01 01 01 05 00 54 43'), 0), WireError, 'options past the chunk');
});

test('bitmap acks decode to the range form', () => {
  const ack = {
    flowId: 3,
    bufferBlocks: 0x7f,
    cumulativeAck: 5,
    ranges: [
      [8, 9],
      [12, 12],
      [15, 22],
    ] as Array<[number, number]>,
  };
  const w = writer();
  writeBitmapAck(w, ack);
  // bits from sequence 7: 8,9 → bits 1,2; 12 → bit 5; 15..22 → bits 8..15
  assert.equal(hex(w.view_()), '500005037f0526ff');
  assert.deepEqual(decodeChunks(w.bytes(), 0), [{ type: 0x51, ...ack }]);
});

test('stop rules of §2.1', () => {
  const ping = '010001aa';
  assert.equal(decodeChunks(fromHex(ping + 'ff010001bb'), 0).length, 1, 'padding');
  assert.equal(decodeChunks(fromHex(ping + '00010001bb'), 0).length, 1, 'type 0');
  assert.equal(decodeChunks(fromHex(ping + '010005bb'), 0).length, 1, 'length overruns the packet');
  assert.equal(decodeChunks(fromHex(ping + '0100'), 0).length, 1, 'fewer than 3 bytes');
  assert.equal(decodeChunks(fromHex('0b1234' + ping + ping), 3).length, 2, 'from the offset');
  assert.deepEqual(decodeChunks(new Uint8Array(0), 0), []);
});

test('fuzz: random bytes only ever throw WireError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeChunks(bytes, 0);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});

test('fuzz: chunk-shaped random payloads only ever throw WireError', () => {
  const types = Object.values(CHUNK);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 80 })), { maxLength: 6 }), (parts) => {
      const w = writer();
      for (const [type, payload] of parts) w.u8(type).u16(payload.length).write(payload);
      try {
        for (const c of decodeChunks(w.bytes(), 0)) writeChunk(writer(), c);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});

test('fuzz: truncated and bit-flipped captured packets only ever throw WireError', () => {
  const packets = PACKETS.map(([name, key]) => captured(name, key));
  fc.assert(
    fc.property(fc.nat(packets.length - 1), fc.nat(400), fc.nat(), fc.nat(255), (which, cut, at, flip) => {
      const original = packets[which]!;
      const bytes = original.slice(0, Math.min(cut, original.length));
      if (bytes.length > 0) bytes[at % bytes.length]! ^= flip;
      try {
        const header = readPacketHeader(bytes);
        decodeChunks(bytes, header.chunksOffset);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});
