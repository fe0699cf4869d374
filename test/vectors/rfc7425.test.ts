// rtmfp-cpp sessions with a recorded server exponent (../shared/vectors/rfc7425/): groups 2 and 16, HMAC and
// session sequence numbers in both directions. Everything is derived from the handshake and checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, hex } from '../../src/bytes.ts';
import {
  createPacketCipher,
  deriveSessionKeys,
  generateKeyPair,
  parseCertificate,
  peerIdOf,
  readSessionId,
  respondToKeying,
  startupCipher,
} from '../../src/protocols/rtmfp/crypto/index.ts';

interface Packet {
  dir: 'C>S' | 'S>C';
  kind: string;
  raw: string;
  clear: string;
}
interface Vectors {
  group: number;
  server_cert: string;
  server_fingerprint: string;
  client_cert: string;
  client_peer_id: string;
  server_dh_private_x: string;
  server_dh_public: string;
  isid: string;
  rsid: string;
  skic: string;
  skrc: string;
  S: string;
  c2s_aes_key: string;
  s2c_aes_key: string;
  c2s_hmac_key: string;
  s2c_hmac_key: string;
  client_nonce: string;
  server_nonce: string;
  hmac_len_each_way: number;
  packets: Packet[];
}

/** Header and chunks up to the padding: the length of what seal() takes. */
function contentLength(clear: Uint8Array): number {
  const flags = clear[0]!;
  let at = 1 + (flags & 0x08 ? 2 : 0) + (flags & 0x04 ? 2 : 0);
  while (at + 3 <= clear.length && clear[at] !== 0xff) at += 3 + ((clear[at + 1]! << 8) | clear[at + 2]!);
  return at;
}

for (const file of ['vectors-group2.json', 'vectors-group16.json']) {
  const v = JSON.parse(readFileSync(new URL(`../../../shared/vectors/rfc7425/${file}`, import.meta.url), 'utf8')) as Vectors;
  const x = fromHex(v.server_dh_private_x);
  const clientCert = fromHex(v.client_cert);
  const skic = fromHex(v.skic);
  const serverCert = parseCertificate(fromHex(v.server_cert));
  const responder = respondToKeying(clientCert, skic, serverCert.ephemeralGroups, { privateKey: x });

  test(`${file}: certificates, ids and S`, () => {
    assert.equal(hex(serverCert.fingerprint), v.server_fingerprint);
    assert.ok(serverCert.acceptsAncillaryData);
    assert.equal(hex(peerIdOf(clientCert)), v.client_peer_id);
    const client = parseCertificate(clientCert);
    assert.deepEqual([...client.staticKeys.keys()], [16, 14, 2]);
    const pair = generateKeyPair(v.group as 2 | 16, x);
    assert.equal(hex(pair.publicKey), v.server_dh_public);
    assert.equal(hex(pair.computeSecret(client.staticKeys.get(v.group as 2 | 16)!)!), v.S);
  });

  test(`${file}: respondToKeying reproduces skrc, keys, HMAC keys and nonces`, () => {
    assert.ok(responder);
    assert.equal(responder.group, v.group);
    assert.equal(hex(responder.skrc), v.skrc);
    const k = responder.keys;
    assert.equal(hex(k.sharedSecret), v.S);
    assert.equal(hex(k.decryptKey), v.c2s_aes_key);
    assert.equal(hex(k.encryptKey), v.s2c_aes_key);
    assert.equal(k.protection.recvHMACLength, v.hmac_len_each_way);
    assert.equal(k.protection.sendHMACLength, v.hmac_len_each_way);
    assert.equal(hex(k.protection.recvHMACKey!), v.c2s_hmac_key);
    assert.equal(hex(k.protection.sendHMACKey!), v.s2c_hmac_key);
    assert.ok(k.protection.sendSequence && k.protection.recvSequence);
    assert.equal(hex(k.nearNonce), v.server_nonce);
    assert.equal(hex(k.farNonce), v.client_nonce);
    // the initiator's view of the same derivation
    const c = deriveSessionKeys(fromHex(v.S), skic, fromHex(v.skrc), {
      sendHMACLength: 16,
      recvHMACLength: 16,
      sendSequence: true,
      recvSequence: true,
    });
    assert.equal(hex(c.encryptKey), v.c2s_aes_key);
    assert.equal(hex(c.decryptKey), v.s2c_aes_key);
    assert.equal(hex(c.protection.sendHMACKey!), v.c2s_hmac_key);
    assert.equal(hex(c.nearNonce), v.client_nonce);
  });

  test(`${file}: every datagram opens to its recorded cleartext and re-seals byte for byte`, () => {
    assert.ok(responder);
    const k = responder.keys;
    const serverOpen = createPacketCipher(k.encryptKey, k.decryptKey, k.protection);
    const serverSeal = createPacketCipher(k.encryptKey, k.decryptKey, k.protection);
    const clientSide = deriveSessionKeys(k.sharedSecret, skic, responder.skrc, {
      sendHMACLength: 16,
      recvHMACLength: 16,
      sendSequence: true,
      recvSequence: true,
    });
    const clientOpen = createPacketCipher(clientSide.encryptKey, clientSide.decryptKey, clientSide.protection, 'node');
    const clientSeal = createPacketCipher(clientSide.encryptKey, clientSide.decryptKey, clientSide.protection, 'node');
    const ssidFor = { 'C>S': Number.parseInt(v.rsid, 16), 'S>C': Number.parseInt(v.isid, 16) };
    const nextSequence = { 'C>S': 0, 'S>C': 0 };
    for (const [i, p] of v.packets.entries()) {
      const raw = fromHex(p.raw);
      const recorded = fromHex(p.clear);
      const startup = p.kind.endsWith('startup');
      const label = `${file} packet ${i} ${p.dir} ${p.kind}`;
      const rikeying = startup && recorded[5] === 0x78;
      assert.equal(readSessionId(raw), startup && !rikeying ? 0 : ssidFor[p.dir], label);
      const opener = startup ? startupCipher : p.dir === 'C>S' ? serverOpen : clientOpen;
      const clear = opener.open(raw);
      assert.ok(clear, label);
      // recorded = [sseq] [checksum] flags …: startup packets carry a checksum, session packets a 1-byte sseq.
      const skip = startup ? 2 : 1;
      assert.equal(hex(clear), hex(recorded.subarray(skip)), label);
      if (!startup) assert.equal(recorded[0], nextSequence[p.dir]++, `${label} sseq`);
      const sealer = startup ? startupCipher : p.dir === 'C>S' ? clientSeal : serverSeal;
      assert.equal(hex(sealer.seal(readSessionId(raw), clear.subarray(0, contentLength(clear)))), p.raw, label);
      // a replay of the same datagram is refused once its sseq is recorded
      if (!startup) assert.equal(opener.open(raw), null, `${label} replay`);
    }
  });
}
