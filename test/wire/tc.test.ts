import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createDecipheriv } from 'node:crypto';
import { fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import {
  TC,
  UserControl,
  decodeCommand,
  decodeData,
  decodeTCMessage,
  decodeUserControl,
  encodeCommand,
  encodeData,
  encodeStatus,
  encodeTCMessage,
  encodeUserControl,
} from '../../src/flash/tc.ts';
import { TypedObject } from '../../src/flash/amf/index.ts';

// The real Flash Player 11.7 capture (RTMFP.md §3.12): session packets decrypted with the keys of its README.
const VECTORS = new URL('../../../shared/vectors/flash-11.7/', import.meta.url);
const SERVER_DECRYPT_KEY = 'ca3e6206c4fe662bbd950e8d03574e35';
const SERVER_ENCRYPT_KEY = 'bc4b145aafb0f8287b3cf87bd036acf0';

const capture = { skip: existsSync(new URL('5.dat', VECTORS)) ? false : 'capture vectors not present' };

function cleartext(file: string, key: string): Uint8Array {
  const packet = readFileSync(new URL(file, VECTORS));
  const aes = createDecipheriv('aes-128-cbc', Buffer.from(key, 'hex'), Buffer.alloc(16));
  aes.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([aes.update(packet.subarray(4)), aes.final()]));
}

/** The TC message of the user-data chunk at `chunkAt`, after a fragment header of `headerLength` bytes. */
function tcMessage(clear: Uint8Array, chunkAt: number, header: string): Uint8Array {
  assert.equal(clear[chunkAt], 0x10, 'user data chunk');
  const length = (clear[chunkAt + 1]! << 8) | clear[chunkAt + 2]!;
  const start = chunkAt + 3;
  const h = fromHex(header);
  assert.equal(hex(clear.subarray(start, start + h.length)), hex(h));
  return clear.subarray(start + h.length, start + length);
}

const connect = (): Uint8Array => tcMessage(cleartext('5.dat', SERVER_DECRYPT_KEY), 7, '80 02 01 01 05 00 54 43 04 00 00');
const result = (): Uint8Array => tcMessage(cleartext('6.dat', SERVER_ENCRYPT_KEY), 13, '80 01 01 01 05 00 54 43 04 00 02 0a 02 00');
const setPeerInfo = (): Uint8Array => tcMessage(cleartext('8.dat', SERVER_DECRYPT_KEY), 7, '00 02 02 01');

test('G 5.dat: the connect command of a real Flash Player', capture, () => {
  const msg = decodeTCMessage(connect());
  assert.equal(msg.type, TC.COMMAND_AMF0);
  assert.equal(msg.time, 0);
  const cmd = decodeCommand(msg);
  assert.equal(cmd.name, 'connect');
  assert.equal(cmd.transactionId, 1);
  assert.deepEqual(cmd.commandObject, {
    app: '',
    flashVer: 'WIN 11,7,700,202',
    swfUrl: undefined,
    tcUrl: 'rtmfp://192.168.137.183/',
    fpad: false,
    capabilities: 235,
    audioCodecs: 3575,
    videoCodecs: 252,
    videoFunction: 1,
    pageUrl: undefined,
    objectEncoding: 3,
  });
  assert.deepEqual(cmd.args, []);
  // re-encoding the decoded values gives Flash's bytes back
  assert.equal(hex(encodeCommand(cmd.name, cmd.transactionId, cmd.commandObject, cmd.args)), hex(connect()));
});

test('G 6.dat: the _result re-encodes byte for byte', capture, () => {
  const expected = result();
  const info = {
    objectEncoding: 3,
    code: 'NetConnection.Connect.Success',
    data: null,
    description: 'Connection succeeded',
    level: 'status',
  };
  assert.equal(hex(encodeStatus('_result', 1, info)), hex(expected));
  const cmd = decodeCommand(decodeTCMessage(expected));
  assert.deepEqual(cmd, { name: '_result', transactionId: 1, commandObject: null, args: [info] });
});

test('G 8.dat: setPeerInfo as an AMF3 command (format byte skipped)', capture, () => {
  const msg = decodeTCMessage(setPeerInfo());
  assert.equal(msg.type, TC.COMMAND_AMF3);
  assert.equal(msg.body[0], 0, 'format byte');
  const cmd = decodeCommand(msg);
  assert.deepEqual(cmd, {
    name: 'setPeerInfo',
    transactionId: 0,
    commandObject: null,
    args: ['192.168.137.1:55655', '192.168.202.99:55655'],
  });
});

test('TC message framing', () => {
  const m = encodeTCMessage(TC.VIDEO, 0x01020304, fromHex('1700'));
  assert.equal(hex(m), '09010203041700');
  assert.deepEqual(decodeTCMessage(m), { type: 9, time: 0x01020304, body: fromHex('1700') });
  assert.deepEqual(decodeTCMessage(fromHex('0800000000')), { type: 8, time: 0, body: new Uint8Array(0) });
  assert.throws(() => decodeTCMessage(fromHex('08000000')), WireError);
});

test('commands: encoding as servers send them', () => {
  // createStream result, Mona style: AMF0 number
  assert.equal(
    hex(encodeCommand('_result', 2, null, [1])),
    '1400000000 02 0007 5f726573756c74 00 4000000000000000 05 00 3ff0000000000000'.replace(/\s+/g, ''),
  );
  // complex arguments switch to AMF3 for AMF3 clients, not for AMF0 ones
  assert.equal(
    hex(encodeCommand('f', 0, null, [{ a: 1 }])),
    '1400000000 02000166 00 0000000000000000 05 11 0a0b0103610401 01'.replace(/\s+/g, ''),
  );
  assert.equal(
    hex(encodeCommand('f', 0, null, [{ a: 1 }], { amf0Only: true })),
    '1400000000 02000166 00 0000000000000000 05 03 000161 003ff0000000000000 000009'.replace(/\s+/g, ''),
  );
  assert.equal(hex(encodeCommand('close', 0, null, [])), '1400000000 020005 636c6f7365 00 0000000000000000 05'.replace(/\s+/g, ''));
});

test('commands: decoding variants', () => {
  // a bare name
  assert.deepEqual(decodeCommand(decodeTCMessage(fromHex('1400000000 0200016b'))), {
    name: 'k',
    transactionId: 0,
    commandObject: null,
    args: [],
  });
  // name and transaction ID via the AMF3 switch
  assert.deepEqual(decodeCommand(decodeTCMessage(fromHex('1100000000 00 11 06 03 6b 11 04 05 05 11 0a 0b 01 03 61 04 01 01'))), {
    name: 'k',
    transactionId: 5,
    commandObject: null,
    args: [{ a: 1 }],
  });
  // one AMF3 table set per message: the string of the first switched value is referenced by the second
  assert.deepEqual(decodeCommand(decodeTCMessage(fromHex('1400000000 0200016b 00 0000000000000000 05 11 06 05 6162 11 06 00'))).args, [
    'ab',
    'ab',
  ]);
  for (const h of ['1400000000', '1400000000 00 3ff0000000000000', '1400000000 0200016b 02 0000', '1200000000 0200016b', '1100000000']) {
    assert.throws(() => decodeCommand(decodeTCMessage(fromHex(h))), WireError, h);
  }
});

test('data messages both ways', () => {
  const bytes = encodeData('onMetaData', [{ a: 1 }, 'x']);
  assert.equal(
    hex(bytes),
    `0f00000000 00 02000a ${hex(new TextEncoder().encode('onMetaData'))} 11 0a0b0103610401 01 02000178`.replace(/\s+/g, ''),
  );
  assert.deepEqual(decodeData(decodeTCMessage(bytes)), { name: 'onMetaData', args: [{ a: 1 }, 'x'] });
  assert.deepEqual(decodeData(decodeTCMessage(fromHex('1200000000 02000166 0101'))), { name: 'f', args: [true] });
  assert.throws(() => decodeData(decodeTCMessage(fromHex('1400000000 02000166'))), WireError);
  assert.throws(() => decodeData(decodeTCMessage(fromHex('1200000000 0101'))), WireError);
  // externalizable arguments go through the hooks
  const ext = new TypedObject('X', {}, true, 7);
  const written = encodeData('f', [ext], { writeExternal: (o, out) => (out.bytes.u8(Number(o.external)), true) });
  const read = decodeData(decodeTCMessage(written), { readExternal: (_c, input) => input.bytes.u8() });
  assert.deepEqual(read.args, [ext]);
});

test('status objects are AMF0 only', () => {
  const bytes = encodeStatus('onStatus', 0, { level: 'status', code: 'NetStream.Play.Start', when: new Date(0) });
  assert.equal(bytes.indexOf(0x11), -1);
  const cmd = decodeCommand(decodeTCMessage(bytes));
  assert.deepEqual(cmd.args, [{ level: 'status', code: 'NetStream.Play.Start', when: new Date(0) }]);
});

test('user control: Set Keepalive Timers as Cumulus sends it, and decoding', () => {
  const bytes = encodeUserControl(UserControl.SET_KEEPALIVE_TIMERS, 15000, 10000);
  assert.equal(hex(bytes), '0400000000002900003a9800002710');
  assert.deepEqual(decodeUserControl(decodeTCMessage(bytes)), { event: 0x29, values: [15000, 10000] });
  assert.equal(hex(encodeUserControl(UserControl.STREAM_BEGIN, 1)), '0400000000000000000001');
  assert.throws(() => decodeUserControl(decodeTCMessage(fromHex('0400000000 00'))), WireError);
  assert.throws(() => decodeUserControl(decodeTCMessage(fromHex('1400000000 0000'))), WireError);
});
