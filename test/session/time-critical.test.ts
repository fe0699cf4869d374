// TC and TCR flags (RFC 7016 §2.2.4, §3.5.2.1): TC on the packets that carry time-critical (media) fragments,
// TCR on a session's packets while another session of the same endpoint receives time-critical data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { PACKET_FLAG } from '../../src/protocols/rtmfp/wire/packet.ts';
import { TIMECRITICAL_TIMEOUT_MS } from '../../src/protocols/rtmfp/params.ts';
import { TimeCriticalReception } from '../../src/protocols/rtmfp/session/time-critical.ts';
import { Pair, type SentPacket } from '../helpers/pair.ts';

const SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);
const carriesData = (p: SentPacket) => p.chunks.some((c) => c.type === CHUNK.USER_DATA);

test('reception record: TCR is about the other sessions, for TIMECRITICAL_TIMEOUT_MS', () => {
  const record = new TimeCriticalReception();
  const a = {};
  const b = {};
  assert.equal(record.fromOthers(a, 0), false, 'nobody received media yet');
  record.received(a, 1000);
  assert.equal(record.fromOthers(a, 1000), false, "a session's own media reception is no reason for TCR");
  assert.equal(record.fromOthers(b, 1000 + TIMECRITICAL_TIMEOUT_MS), true);
  assert.equal(record.fromOthers(b, 1001 + TIMECRITICAL_TIMEOUT_MS), false, 'stale after the timeout');
  record.received(b, 1500);
  record.received(b, 1600);
  assert.equal(record.fromOthers(b, 1600), true, "a's reception at 1000 is the latest of another session");
  assert.equal(record.fromOthers(b, 1001 + TIMECRITICAL_TIMEOUT_MS), false, 'and stale after the timeout, whatever b receives');
  assert.equal(record.fromOthers(a, 1600), true, 'b receives media: TCR for a');
});

test('TC marks exactly the packets carrying time-critical fragments', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const command = pair.initiator.newWriter(SIGNATURE, undefined);
  command.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  const media = pair.initiator.newWriter(SIGNATURE, undefined);
  media.timeCritical = true;
  const since = pair.log.length;
  media.write(new Uint8Array(3000).fill(7)); // three packets
  await pair.settle();
  const sent = pair.log.slice(since).filter((p) => p.from === 'initiator');
  const withMedia = sent.filter(carriesData);
  assert.ok(withMedia.length >= 3, `media packets: ${withMedia.length}`);
  for (const p of withMedia) assert.ok(p.flags & PACKET_FLAG.TC, `TC on ${p.flags.toString(16)}`);
  const before = pair.log.slice(0, since).filter((p) => p.from === 'initiator' && carriesData(p));
  assert.ok(before.length > 0);
  for (const p of before) assert.equal(p.flags & PACKET_FLAG.TC, 0, 'a command is not time-critical');
  for (const p of pair.log.filter((q) => q.from === 'responder')) {
    assert.equal(p.flags & PACKET_FLAG.TC, 0, 'acks alone are not time-critical');
    assert.equal(p.flags & PACKET_FLAG.TCR, 0, 'the only media the responder receives is from this same session');
  }
});

test("TCR on a server's session while another of its sessions receives media", async () => {
  const record = new TimeCriticalReception();
  const pair = new Pair({ keepAliveMs: 600_000, responderTimeCritical: record });
  const writer = pair.responder.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  assert.ok(
    pair.log.filter((p) => p.from === 'responder').every((p) => (p.flags & PACKET_FLAG.TCR) === 0),
    'no TCR while nobody sends media to the server',
  );
  record.received({}, pair.clock.now()); // a publisher's session
  const since = pair.log.length;
  writer.write(Uint8Array.of(2));
  await pair.settle();
  const now = pair.log.slice(since).filter((p) => p.from === 'responder');
  assert.ok(now.length > 0);
  for (const p of now) assert.ok(p.flags & PACKET_FLAG.TCR, `TCR on ${p.flags.toString(16)}`);
  await pair.advance(TIMECRITICAL_TIMEOUT_MS + 100);
  const later = pair.log.length;
  writer.write(Uint8Array.of(3));
  await pair.settle();
  for (const p of pair.log.slice(later).filter((q) => q.from === 'responder')) assert.equal(p.flags & PACKET_FLAG.TCR, 0, 'stale');
});
