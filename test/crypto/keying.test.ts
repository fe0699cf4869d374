import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, concat, encodeVLU, fromHex, hex } from '../../src/bytes.ts';
import { readOptionList, writeOption } from '../../src/protocols/rtmfp/wire/options.ts';
import { createServerCertificate, createStaticCertificate } from '../../src/protocols/rtmfp/crypto/certificate.ts';
import { generateKeyPair, type DHGroup } from '../../src/protocols/rtmfp/crypto/dh.ts';
import {
  createInitiatorIdentity,
  initiateKeying,
  negotiate,
  negotiationFlags,
  respondToKeying,
  type SessionKeys,
} from '../../src/protocols/rtmfp/crypto/keying.ts';
import { createPacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';

const RANDOM = '410e' + 'ab'.repeat(64);
const flashIdentity = createInitiatorIdentity('flash');
const cppIdentity = createInitiatorIdentity('rfc7425');

/** skic with a group select, randomness and the given negotiation option bytes (hex, '' = absent). */
const skicWith = (group: number, hmac: string, sseq: string): Uint8Array =>
  fromHex(`021d${group.toString(16).padStart(2, '0')}${RANDOM}${hmac && '031a' + hmac}${sseq && '021e' + sseq}`);

function options(component: Uint8Array): Map<number, string> {
  return new Map(readOptionList(new ByteReader(component)).map((o) => [o.type, hex(o.value)]));
}

test('negotiate: the three rules of A2.2', () => {
  const idle = { sendAlways: false, recvRequired: false };
  assert.deepEqual(negotiate(idle, 0x00), idle);
  assert.deepEqual(negotiate(idle, 0x02), idle);
  assert.deepEqual(negotiate(idle, 0x04), { sendAlways: false, recvRequired: true }, 'it will send, so we expect');
  assert.deepEqual(negotiate(idle, 0x01), { sendAlways: true, recvRequired: false }, 'it asks, so we send');
  assert.deepEqual(negotiate(idle, 0x07), { sendAlways: true, recvRequired: true });
  const requiring = { sendAlways: true, recvRequired: true };
  assert.equal(negotiate(requiring, 0x00), null, 'we require, it neither sends nor offers');
  assert.equal(negotiate(requiring, 0x01), null);
  assert.deepEqual(negotiate(requiring, 0x02), requiring, 'send-on-request suffices (P run M)');
  assert.equal(negotiationFlags(idle), 0x02);
  assert.equal(negotiationFlags(requiring), 0x07);
});

test('A2.2 server table: each client row gets its reply and protection', () => {
  const rows: { skic: [string, string]; reply: [string, string]; hmac: boolean; sseq: boolean }[] = [
    { skic: ['0710', '07'], reply: ['0710', '07'], hmac: true, sseq: true }, // tcconn default
    { skic: ['0210', '07'], reply: ['0210', '07'], hmac: false, sseq: true }, // tcconn -H
    { skic: ['0710', '02'], reply: ['0710', '02'], hmac: true, sseq: false }, // tcconn -S
    { skic: ['0210', '02'], reply: ['0000', '00'], hmac: false, sseq: false }, // -H -S: Cumulus answer
    { skic: ['020a', '02'], reply: ['0000', '00'], hmac: false, sseq: false }, // Flash
    { skic: ['', ''], reply: ['0000', '00'], hmac: false, sseq: false }, // no options at all
    { skic: ['0410', '04'], reply: ['0310', '03'], hmac: true, sseq: true }, // SND only: we expect (REQ), need not send
  ];
  const key2 = generateKeyPair(2);
  const cert = createStaticCertificate([key2]);
  for (const row of rows) {
    const what = `client ${row.skic.join('/')}`;
    const r = respondToKeying(cert, skicWith(2, ...row.skic), [2, 14, 16]);
    assert.ok(r, what);
    const o = options(r.skrc);
    assert.equal(o.get(0x1a), row.reply[0], what);
    assert.equal(o.get(0x1e), row.reply[1], what);
    const p = r.keys.protection;
    const clientSends = row.skic[0].startsWith('07') || row.skic[0].startsWith('04');
    assert.equal(p.recvHMACLength, row.hmac && clientSends ? 16 : 0, `${what} recv HMAC`);
    assert.equal(p.sendHMACLength, row.hmac && row.skic[0].startsWith('07') ? 16 : 0, `${what} send HMAC`);
    assert.equal(p.recvSequence, row.sseq && /^0[47]/.test(row.skic[1]), `${what} recv sseq`);
    assert.equal(p.sendSequence, row.sseq && row.skic[1] === '07', `${what} send sseq`);
  }
});

test('skrc layout: rtmfp-cpp order for a negotiating client, Cumulus bytes for Flash', () => {
  const key2 = generateKeyPair(2);
  const cert = createStaticCertificate([key2]);
  const cpp = respondToKeying(cert, skicWith(2, '0710', '07'), [2])!;
  assert.equal(hex(cpp.skrc.subarray(0, 7)), '021e07031a0710');
  const flash = respondToKeying(cert, skicWith(2, '020a', '02'), [2])!;
  assert.equal(hex(flash.skrc.subarray(0, 7)), '031a0000021e00');
  const pubLength = flash.skrc.length - 7 - 4;
  assert.ok(pubLength === 128 || pubLength === 127);
  assert.equal(respondToKeying(cert, skicWith(2, '0710', '07'), [2], { hmacLength: 10 })!.skrc[6], 10);
});

test('responder refuses: group not offered, no key for the group, bad key, bad HMAC length, junk', () => {
  const cert = createStaticCertificate([generateKeyPair(2)]);
  assert.equal(respondToKeying(cert, skicWith(2, '0710', '07'), [14, 16]), null, 'group not offered');
  assert.equal(respondToKeying(cert, skicWith(14, '0710', '07'), [2, 14, 16]), null, 'no static key for 14');
  assert.equal(respondToKeying(cert, skicWith(5, '0710', '07'), [2, 14, 16]), null, 'unknown group');
  assert.equal(respondToKeying(cert, skicWith(2, '0721', '07'), [2]), null, 'required HMAC of 33 bytes');
  assert.equal(respondToKeying(cert, skicWith(2, '0703', '07'), [2]), null, 'required HMAC of 3 bytes');
  // the bounds themselves are valid lengths (RFC 7425 §4.6.5: 4 to 32 bytes)
  assert.equal(respondToKeying(cert, skicWith(2, '0704', '07'), [2])?.keys.protection.recvHMACLength, 4, 'HMAC of 4 bytes');
  assert.equal(respondToKeying(cert, skicWith(2, '0720', '07'), [2])?.keys.protection.recvHMACLength, 32, 'HMAC of 32 bytes');
  assert.ok(respondToKeying(cert, skicWith(2, '0221', '07'), [2]), 'length irrelevant when HMAC is not expected');
  const badKey = createStaticCertificate([{ group: 2, publicKey: Uint8Array.of(1) }]);
  assert.equal(respondToKeying(badKey, skicWith(2, '020a', '02'), [2]), null, 'invalid public key');
  assert.equal(respondToKeying(fromHex('05'), skicWith(2, '020a', '02'), [2]), null, 'malformed certificate');
  assert.equal(respondToKeying(cert, fromHex('0a1d'), [2]), null, 'malformed skic');
  assert.equal(respondToKeying(cert, fromHex(RANDOM), [2]), null, 'no group in skic');
});

test('ephemeral initiator: group and key in skic 0x0d', () => {
  const pair = generateKeyPair(14);
  const skic = concat(keyOption(14, pair.publicKey), fromHex(RANDOM));
  const r = respondToKeying(fromHex('010a02150e'), skic, [2, 14]);
  assert.ok(r);
  assert.equal(r.group, 14);
  assert.equal(hex(r.keys.sharedSecret), hex(pair.computeSecret(readKey(r.skrc, 14))!));
});

function keyOption(group: DHGroup, publicKey: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  writeOption(w, 0x0d, concat(encodeVLU(group), publicKey));
  return w.bytes();
}

function readKey(skrc: Uint8Array, group: DHGroup): Uint8Array {
  for (const o of readOptionList(new ByteReader(skrc))) if (o.type === 0x0d && o.value[0] === group) return o.value.subarray(1);
  throw new Error('no key');
}

test('initiator identities and group choice (A1.2, A1.4)', () => {
  assert.equal(flashIdentity.certificate[2], 0x1d);
  assert.deepEqual(flashIdentity.groups, [2]);
  assert.deepEqual(cppIdentity.groups, [16, 14, 2]);
  assert.deepEqual([...cppIdentity.keys.keys()], [16, 14, 2]);
  const cumulus = fromHex('010a410e' + '00'.repeat(64) + '021502021505' + '02150e');
  const pick = (identity: typeof cppIdentity, cert: Uint8Array): DHGroup | undefined => initiateKeying(identity, cert, 'rfc7425')?.group;
  assert.equal(pick(cppIdentity, createServerCertificate()), 16);
  assert.equal(pick(cppIdentity, createServerCertificate([2, 14])), 14);
  assert.equal(pick(cppIdentity, cumulus), 14);
  assert.equal(pick(cppIdentity, createServerCertificate([2])), 2);
  assert.equal(pick(flashIdentity, createServerCertificate()), 2);
  assert.equal(pick(cppIdentity, fromHex('010a')), undefined, 'no common group');
  assert.equal(pick(cppIdentity, fromHex('05')), undefined, 'malformed');
});

test('skic layouts of both styles', () => {
  const flash = initiateKeying(flashIdentity, createServerCertificate(), 'flash')!;
  assert.equal(flash.skic.length, 76);
  assert.equal(hex(flash.skic.subarray(0, 5)), '021d02410e');
  assert.equal(hex(flash.skic.subarray(69)), '031a020a021e02');
  const cpp = initiateKeying(cppIdentity, createServerCertificate(), 'rfc7425')!;
  assert.equal(cpp.skic.length, 76);
  assert.equal(hex(cpp.skic.subarray(0, 5)), '021d10410e');
  assert.equal(hex(cpp.skic.subarray(69)), '031a0710021e07');
});

function exchange(client: SessionKeys, server: SessionKeys): void {
  const c = createPacketCipher(client.encryptKey, client.decryptKey, client.protection);
  const s = createPacketCipher(server.encryptKey, server.decryptKey, server.protection, 'node');
  for (let i = 0; i < 3; i++) {
    const up = Uint8Array.of(0x8d, 0, i, 0x10, 0, 1, i);
    assert.equal(hex(s.open(c.seal(1, up))!.subarray(0, up.length)), hex(up));
    const down = Uint8Array.of(0x4e, 0, i, 0x51, 0, 1, i);
    assert.equal(hex(c.open(s.seal(0x02000000, down))!.subarray(0, down.length)), hex(down));
  }
}

test('end to end, both styles against our responder, every group', () => {
  for (const [style, identity] of [
    ['flash', flashIdentity],
    ['rfc7425', cppIdentity],
  ] as const) {
    for (const groups of [[2, 14, 16], [2], [14], [16]] as DHGroup[][]) {
      const serverCert = createServerCertificate(groups);
      const init = initiateKeying(identity, serverCert, style);
      if (style === 'flash' && !groups.includes(2)) {
        assert.equal(init, null);
        continue;
      }
      assert.ok(init);
      const r = respondToKeying(identity.certificate, init.skic, groups);
      assert.ok(r, `${style} ${groups}`);
      assert.equal(r.group, init.group);
      const keys = init.complete(r.skrc);
      assert.ok(keys, `${style} ${groups}`);
      assert.equal(hex(keys.sharedSecret), hex(r.keys.sharedSecret));
      assert.equal(hex(keys.encryptKey), hex(r.keys.decryptKey));
      assert.equal(hex(keys.decryptKey), hex(r.keys.encryptKey));
      assert.equal(hex(keys.nearNonce), hex(r.keys.farNonce));
      const both = style === 'rfc7425';
      assert.deepEqual(
        [keys.protection.sendHMACLength, keys.protection.recvHMACLength, keys.protection.sendSequence, keys.protection.recvSequence],
        both ? [16, 16, true, true] : [0, 0, false, false],
      );
      exchange(keys, r.keys);
    }
  }
});

test('initiator side of RIKeying: negotiation failures and missing keys', () => {
  const server = generateKeyPair(2);
  const key = keyOption(2, server.publicKey);
  const cpp = initiateKeying(cppIdentity, createServerCertificate([2]), 'rfc7425')!;
  assert.equal(cpp.complete(concat(fromHex('031a0000021e00'), key)), null, 'Cumulus answer refused by a requiring client (P run E)');
  assert.equal(cpp.complete(concat(fromHex('031a0000021e07'), key)), null, 'HMAC refused, sequence numbers agreed: refused');
  assert.equal(cpp.complete(concat(fromHex('031a0710021e00'), key)), null, 'HMAC agreed, sequence numbers refused: refused');
  assert.equal(cpp.complete(concat(fromHex('021e07031a0721'), key)), null, 'HMAC length 33');
  assert.ok(cpp.complete(concat(fromHex('021e07031a070a'), key)), 'server announces 10: accepted');
  assert.equal(cpp.complete(fromHex('021e07031a0710')), null, 'no key');
  assert.equal(cpp.complete(concat(fromHex('021e07031a0710'), keyOption(14, server.publicKey))), null, 'key of another group');
  assert.equal(cpp.complete(fromHex('ff')), null, 'junk');
  assert.ok(cpp.complete(concat(fromHex('021e07031a0710020d82'), key)), 'a truncated key option before the good one is skipped');
  assert.ok(cpp.complete(concat(fromHex('021e07031a0710020d02'), key)), 'so is one with a group and no key');
  assert.ok(cpp.complete(concat(fromHex('021e07031a0710030d05aa'), key)), 'and one of a group that does not exist');
  const flash = initiateKeying(flashIdentity, createServerCertificate([2]), 'flash')!;
  const k = flash.complete(concat(fromHex('031a0000021e00'), key));
  assert.ok(k);
  assert.deepEqual(k.protection, { sendHMACLength: 0, recvHMACLength: 0, sendSequence: false, recvSequence: false });
  const asked = flash.complete(concat(fromHex('021e07031a0710'), key))!;
  assert.deepEqual(
    [asked.protection.sendHMACLength, asked.protection.recvHMACLength],
    [10, 16],
    'a Flash-style client honours REQ with its own length',
  );
});

test('an empty or truncated group-select option is refused (null), never thrown (issue 12: a stack trace per packet)', () => {
  const certificate = flashIdentity.certificate;
  for (const skic of [fromHex(`011d${RANDOM}`), fromHex(`021d82${RANDOM}`), fromHex('011d')]) {
    assert.equal(respondToKeying(certificate, skic, [2, 14, 16]), null, hex(skic).slice(0, 8));
  }
});
