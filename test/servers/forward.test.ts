// Three Nimbus processes linked over loopback (B and C target A), running the publication-forwarding
// application (test/fixtures/servers/forward): a publisher on A, players on B and C get every audio and
// video frame byte-identical to a player on A. Then A is SIGKILLed: B and C see the disconnection, their
// players get NetStream.Play.UnpublishNotify; A restarted on the same ports, B and C link again by themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFLV } from '../../src/core/media/media.ts';
import { NodeProcess } from '../helpers/node-process.ts';
import { player, publisher, sendTags, until, type Player } from '../streams/helpers.ts';

const FORWARD = fileURLToPath(new URL('../fixtures/servers/forward', import.meta.url));
const TAGS = readFLV(readFileSync(fileURLToPath(new URL('../fixtures/media/sample.flv', import.meta.url))));
const MEDIA = TAGS.filter((t) => t.type === 8 || t.type === 9);

const digest = (type: number, time: number, data: Uint8Array): string =>
  `${type}/${time}/${createHash('sha1').update(data).digest('hex')}/${data.length}`;
/** audio then video, each in its own order (the two travel on separate flows, so they interleave freely) */
const frames = (p: Player): string[] =>
  [8, 9].flatMap((type) => p.media.filter((m) => m.type === type).map((m) => digest(m.type, m.time, m.data)));

/** Equal lists, or the first difference (never a diff of whole lists: assert's diff of big arrays takes minutes). */
function sameFrames(actual: string[], expected: string[], what: string): void {
  const at = actual.findIndex((f, i) => f !== expected[i]);
  assert.ok(
    at < 0 && actual.length === expected.length,
    `${what}: frame ${at} of ${actual.length} (expected ${expected.length}) is ${actual[at]}, not ${expected[at]}`,
  );
}

test('publisher on A, players on B and C byte-identical; A killed and restarted', { timeout: 120_000 }, async (t) => {
  const a = await NodeProcess.start({ dir: FORWARD });
  t.after(() => a.stop());
  const targets = `--servers.targets=${a.serversAddress}?role=origin`;
  const started = await Promise.allSettled([
    NodeProcess.start({ dir: FORWARD, args: [targets] }),
    NodeProcess.start({ dir: FORWARD, args: [targets] }),
  ]);
  for (const node of started) if (node.status === 'fulfilled') t.after(() => node.value.stop());
  const [b, c] = started.map((node) => {
    if (node.status === 'rejected') throw node.reason;
    return node.value;
  }) as [NodeProcess, NodeProcess];
  await b.waitLog(/^linked 127\.0\.0\.1:\d+ \(target\)/);
  await c.waitLog(/^linked 127\.0\.0\.1:\d+ \(target\)/);
  await until(() => a.count(/^linked .* \(initiator\)/) === 2, 'A linked to B and C');

  const pub = await publisher(a.rtmfpPort, 'cam');
  t.after(() => pub.nc.close());
  const players = await Promise.all([player(a.rtmfpPort, 'cam'), player(b.rtmfpPort, 'cam'), player(c.rtmfpPort, 'cam')]);
  for (const p of players) t.after(() => p.nc.close());
  const [onA, onB, onC] = players;
  // the copies on B and C exist once the "publish" RPC went through (it left before the players connected)
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < TAGS.length; i += 10) {
    sendTags(pub.stream, TAGS.slice(i, i + 10));
    await new Promise((r) => setTimeout(r, 20));
  }
  await until(() => players.every((p) => p.media.length >= MEDIA.length), `every frame on A, B and C`, 20_000);
  const reference = frames(onA);
  assert.equal(reference.length, MEDIA.length);
  sameFrames(
    reference,
    [8, 9].flatMap((type) => MEDIA.filter((m) => m.type === type).map((m) => digest(m.type, m.time, m.data))),
    'A',
  );
  sameFrames(frames(onB), reference, 'B: byte-identical');
  sameFrames(frames(onC), reference, 'C: byte-identical');

  // the origin dies: B and C see it within 10 s, their players are told the stream is gone
  const killedAt = Date.now();
  await a.kill();
  await b.waitLog(/^Disconnection from 127\.0\.0\.1:\d+ server/, 10_000);
  await c.waitLog(/^Disconnection from 127\.0\.0\.1:\d+ server/, 10_000);
  await until(() => onB.statuses.includes('NetStream.Play.UnpublishNotify'), 'UnpublishNotify on B', 10_000);
  await until(() => onC.statuses.includes('NetStream.Play.UnpublishNotify'), 'UnpublishNotify on C', 10_000);
  assert.ok(Date.now() - killedAt < 10_000);

  // restarted on the same ports: B and C dial it again by themselves
  const before = a.lines.length;
  await a.run();
  await until(() => a.count(/^linked .* \(initiator\)/) >= 4 && a.lines.length > before, 'A linked again to B and C', 30_000);
  await until(() => b.count(/^linked 127\.0\.0\.1:\d+ \(target\)/) === 2, 'B linked again', 5_000);
  await until(() => c.count(/^linked 127\.0\.0\.1:\d+ \(target\)/) === 2, 'C linked again', 5_000);
});
