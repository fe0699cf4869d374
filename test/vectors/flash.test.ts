// The real Flash Player 11.7 capture with a known server DH exponent (../shared/vectors/flash-11.7/README.md),
// checked at packet level: session ids, decryption, checksums, keying, and byte-exact re-sealing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ByteReader, fromHex, hex } from '../../src/bytes.ts';
import {
  createPacketCipher,
  generateKeyPair,
  parseCertificate,
  peerIdOf,
  readSessionId,
  respondToKeying,
  startupCipher,
  type PacketCipher,
} from '../../src/protocols/rtmfp/crypto/index.ts';

const DIR = new URL('../../../shared/vectors/flash-11.7/', import.meta.url);
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));

const X = fromHex(`00FFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22
514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6
F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381
FFFFFFFFFFFFFFFF`);

const CLIENT_TO_SERVER = ['IHello', 'IIKeying', '5', '7', '8', '10', '11'];
const SESSION_IDS: Record<string, number> = {
  IHello: 0,
  RHello: 0,
  IIKeying: 0,
  RIKeying: 0x02000000,
  '5': 1,
  '6': 0x02000000,
  '7': 1,
  '8': 1,
  '9': 0x02000000,
  '10': 1,
  '11': 1,
};

interface Chunk {
  type: number;
  payload: Uint8Array;
}
/** Just enough packet parsing to reach the handshake fields: header, then chunks up to padding. */
function chunksOf(clear: Uint8Array): { chunks: Chunk[]; end: number } {
  const flags = clear[0]!;
  let at = 1 + (flags & 0x08 ? 2 : 0) + (flags & 0x04 ? 2 : 0);
  const chunks: Chunk[] = [];
  while (at + 3 <= clear.length && clear[at] !== 0xff) {
    const length = (clear[at + 1]! << 8) | clear[at + 2]!;
    chunks.push({ type: clear[at]!, payload: clear.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return { chunks, end: at };
}

function open(cipher: PacketCipher, name: string): { clear: Uint8Array; chunks: Chunk[]; end: number } {
  const clear = cipher.open(load(`${name}.dat`));
  assert.ok(clear, `${name} opens (length and checksum)`);
  return { clear, ...chunksOf(clear) };
}

const iikeying = open(startupCipher, 'IIKeying').chunks[0]!;
const r = new ByteReader(iikeying.payload);
const isid = r.u32();
r.read(r.vlu()); // cookie
const clientCertificate = r.read(r.vlu());
const skic = r.read(r.vlu());
const rikeying = open(startupCipher, 'RIKeying').chunks[0]!;
const rr = new ByteReader(rikeying.payload);
rr.u32();
const recordedSkrc = rr.read(rr.vlu());
const serverCertificate = open(startupCipher, 'RHello').chunks[0]!.payload.subarray(1 + 16 + 1 + 64);

const responder = respondToKeying(clientCertificate, skic, [2, 14, 16], { privateKey: X });
assert.ok(responder);
const server = createPacketCipher(responder.keys.encryptKey, responder.keys.decryptKey);
const client = createPacketCipher(responder.keys.decryptKey, responder.keys.encryptKey);
const cipherFor = (name: string): PacketCipher =>
  ['IHello', 'RHello', 'IIKeying', 'RIKeying'].includes(name) ? startupCipher : CLIENT_TO_SERVER.includes(name) ? server : client;

test('session id of every datagram', () => {
  for (const [name, id] of Object.entries(SESSION_IDS)) assert.equal(readSessionId(load(`${name}.dat`)), id, name);
});

test('handshake packets open with the default key and carry the expected chunks', () => {
  const expected: Record<string, number> = { IHello: 0x30, RHello: 0x70, IIKeying: 0x38, RIKeying: 0x78 };
  for (const [name, type] of Object.entries(expected)) {
    const { clear, chunks } = open(startupCipher, name);
    assert.equal(clear[0], 0x0b, `${name} flags`);
    assert.equal(chunks[0]!.type, type, name);
  }
  assert.equal(isid, 0x02000000);
  assert.equal(clientCertificate.length, 132);
  assert.equal(skic.length, 76);
  assert.equal(recordedSkrc.length, 139);
  assert.equal(serverCertificate.length, 77);
});

test('S from the known exponent and the client key of IIKeying', () => {
  const clientKey = parseCertificate(clientCertificate).staticKeys.get(2)!;
  const pair = generateKeyPair(2, X);
  assert.equal(hex(pair.publicKey), hex(recordedSkrc.subarray(recordedSkrc.length - 128)));
  const s = pair.computeSecret(clientKey)!;
  assert.equal(s.length, 128);
  assert.ok(hex(s).startsWith('283c871296cebd97'));
});

test('respondToKeying reproduces the skrc, keys, nonces and ids', () => {
  assert.equal(hex(responder.skrc), hex(recordedSkrc));
  assert.equal(responder.group, 2);
  const k = responder.keys;
  assert.ok(hex(k.sharedSecret).startsWith('283c871296cebd97'));
  assert.equal(hex(k.decryptKey), 'ca3e6206c4fe662bbd950e8d03574e35');
  assert.equal(hex(k.encryptKey), 'bc4b145aafb0f8287b3cf87bd036acf0');
  assert.equal(hex(k.farNonce), 'e613485a97a4015eef70bd584159bd5a73c64ba2b5e198ac2ec5d8c83465ad9f');
  assert.equal(hex(k.nearNonce), 'f478fd0f9ce5045a55f0e1dd007e28ee6e979b2f57e81cc5d182bef96b50da96');
  assert.deepEqual(k.protection, { sendHMACLength: 0, recvHMACLength: 0, sendSequence: false, recvSequence: false });
  assert.equal(hex(peerIdOf(clientCertificate)), '9210df7cb656cad82a607efd810e6c3f922a062ec7dae6df0f39e8a7248dcbf8');
  assert.equal(hex(parseCertificate(serverCertificate).fingerprint), '86241000ea4d58784f613f40f28bc022b475d8682d2091c5ed8a1af5bf0aa0c4');
});

test('session packets 5..11 open with the derived key of their direction', () => {
  const firstChunk: Record<string, number> = { '5': 0x10, '6': 0x51, '7': 0x51, '8': 0x10, '9': 0x51, '10': 0x51, '11': 0x4c };
  for (const [name, type] of Object.entries(firstChunk)) {
    const { clear, chunks } = open(cipherFor(name), name);
    assert.equal(clear[0]! & 0x03, CLIENT_TO_SERVER.includes(name) ? 1 : 2, `${name} mode`);
    assert.equal(chunks[0]!.type, type, name);
  }
  // RTMFP.md §1.5 worked example
  assert.equal(hex(open(server, '7').clear), '0d1e76645551000401ff7f01ffff');
  // a session packet does not open with the other direction's key nor with the startup key
  assert.equal(client.open(load('5.dat')), null);
  assert.equal(startupCipher.open(load('5.dat')), null);
});

test('server packets re-seal byte for byte', () => {
  for (const name of ['RHello', 'RIKeying', '6', '9']) {
    const cipher: PacketCipher =
      name === '6' || name === '9' ? createPacketCipher(responder.keys.encryptKey, responder.keys.decryptKey) : startupCipher;
    const { clear, end } = open(cipherFor(name), name);
    const datagram = load(`${name}.dat`);
    assert.equal(hex(cipher.seal(readSessionId(datagram), clear.subarray(0, end))), hex(datagram), name);
  }
});

// Application level: the real chunk decoder, flow reassembly and AMF on the same packets.
test('connect and setPeerInfo decode; the _result of 6.dat re-encodes byte for byte', async () => {
  const { decodeChunks } = await import('../../src/protocols/rtmfp/wire/chunks.ts');
  const { readPacketHeader } = await import('../../src/protocols/rtmfp/wire/packet.ts');
  const { decodeTCMessage, decodeCommand, encodeCommand } = await import('../../src/flash/tc.ts');
  const userData = (name: string) => {
    const clear = cipherFor(name).open(load(`${name}.dat`))!;
    return decodeChunks(clear, readPacketHeader(clear).chunksOffset).filter((c) => c.type === 0x10) as Array<{
      flowId: number;
      data: Uint8Array;
    }>;
  };
  const [connectChunk] = userData('5');
  assert.equal(connectChunk!.flowId, 2);
  const connect = decodeCommand(decodeTCMessage(connectChunk!.data));
  assert.equal(connect.name, 'connect');
  assert.equal(connect.transactionId, 1);
  const properties = connect.commandObject as Record<string, unknown>;
  assert.equal(properties.app, '');
  assert.equal(properties.flashVer, 'WIN 11,7,700,202');
  assert.equal(properties.tcUrl, 'rtmfp://192.168.137.183/');
  assert.equal(properties.objectEncoding, 3);
  assert.equal(properties.fpad, false);
  assert.equal(properties.swfUrl, undefined);

  const [peerInfoChunk] = userData('8');
  const peerInfo = decodeCommand(decodeTCMessage(peerInfoChunk!.data));
  assert.equal(peerInfo.name, 'setPeerInfo');
  assert.equal(peerInfo.transactionId, 0);
  assert.deepEqual(peerInfo.args, ['192.168.137.1:55655', '192.168.202.99:55655']);

  const [resultChunk] = userData('6');
  assert.equal(resultChunk!.flowId, 1);
  const result = decodeCommand(decodeTCMessage(resultChunk!.data));
  assert.equal(result.name, '_result');
  const info = result.args[0] as Record<string, unknown>;
  assert.equal(info.code, 'NetConnection.Connect.Success');
  const reencoded = encodeCommand(result.name, result.transactionId, result.commandObject, result.args, { amf0Only: true });
  assert.equal(hex(reencoded), hex(resultChunk!.data));
});
