import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Publications, type StreamEvents } from '../../src/core/media/publications.ts';
import { MAX_PENDING_BYTES, type Publisher } from '../../src/core/media/publication.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { encodeData, decodeData } from '../../src/flash/tc.ts';
import { recordingSink } from './helpers.ts';

const client = (n: number): ClientPort => ({ rawId: new Uint8Array(32).fill(n) }) as unknown as ClientPort;
const publisher = (n: number): Publisher => ({ client: client(n), close() {} });

const AVC_CONFIG = Uint8Array.of(0x17, 0x00, 0, 0, 0, 1, 0x64);
const AAC_CONFIG = Uint8Array.of(0xaf, 0x00, 0x12, 0x10);
const key = (n: number) => Uint8Array.of(0x17, 0x01, 0, 0, 0, n);
const inter = (n: number) => Uint8Array.of(0x27, 0x01, 0, 0, 0, n);
const aac = (n: number) => Uint8Array.of(0xaf, 0x01, n);

function metadataBody(): Uint8Array {
  // what a publisher sends: data "@setDataFrame", "onMetaData", {width: 320}, as 0x0f (format byte first)
  return encodeData('@setDataFrame', ['onMetaData', { width: 320 }]).subarray(5);
}

test('listeners get config, metadata and media rebased, late joiners from a key frame', () => {
  const publications = new Publications();
  const early = recordingSink();
  const sub = publications.subscribe('live', client(1), early);
  assert.ok(sub.ok);
  sub.listener.start();
  assert.deepEqual(early.statuses, ['NetStream.Play.Reset', 'NetStream.Play.Start']);
  assert.equal(sub.listener.state, 'waiting');

  const pub = publications.publish('live', publisher(9));
  assert.ok(pub.ok);
  const publication = pub.publication;
  assert.equal(publication.publisherId, '09'.repeat(32));
  assert.equal(early.statuses.at(-1), 'NetStream.Play.PublishNotify');
  publication.pushDataMessage(0x0f, metadataBody());
  publication.pushVideo(1000, AVC_CONFIG);
  publication.pushAudio(1000, AAC_CONFIG);
  publication.pushVideo(1000, key(1));
  publication.pushAudio(1010, aac(1));
  publication.pushVideo(1040, inter(2));
  assert.equal(sub.listener.state, 'playing');
  assert.deepEqual(
    early.video.map((m) => m.time),
    [0, 0, 40],
  );
  assert.deepEqual(
    early.audio.map((m) => m.time),
    [0, 10],
  );
  const onMetaData = decodeData(early.data.at(-1)!);
  assert.deepEqual(onMetaData, { name: 'onMetaData', args: [{ width: 320 }] });

  // a late joiner: metadata at start, inter frames skipped (counted), config then key frame at time 0
  const late = recordingSink();
  const lateSub = publications.subscribe('live', client(2), late);
  assert.ok(lateSub.ok);
  lateSub.listener.start();
  // joining a running publication: PublishNotify after Play.Start, as MonaServer
  assert.deepEqual(late.statuses, ['NetStream.Play.Reset', 'NetStream.Play.Start', 'NetStream.Play.PublishNotify']);
  assert.equal(decodeData(late.data.at(-1)!).name, 'onMetaData');
  publication.pushVideo(1080, inter(3));
  publication.pushAudio(1090, aac(2));
  publication.pushVideo(1120, key(4));
  assert.equal(publication.droppedFrames, 1);
  assert.equal(lateSub.listener.videoQOS.droppedFrames, 1);
  assert.deepEqual(
    late.video.map((m) => [m.time, [...m.body]]),
    [
      [30, [...AVC_CONFIG]],
      [30, [...key(4)]],
    ],
  );
  assert.deepEqual(
    late.audio.map((m) => [m.time, [...m.body]]),
    [
      [0, [...AAC_CONFIG]],
      [0, [...aac(2)]],
    ],
  );
  assert.deepEqual(
    early.video.map((m) => m.time),
    [0, 0, 40, 80, 120],
  );

  // publisher leaves: listeners notified and kept; the next publisher continues their timeline
  publications.unpublish(publication);
  assert.equal(early.statuses.at(-1), 'NetStream.Play.UnpublishNotify');
  assert.equal(publications.count, 1);
  assert.equal(sub.listener.state, 'waiting');
  const again = publications.publish('live', publisher(8));
  assert.ok(again.ok);
  again.publication.pushVideo(50, key(5));
  assert.equal(early.video.at(-1)!.time, 120);
  publications.unsubscribe(sub.listener, true);
  publications.unsubscribe(lateSub.listener, true);
  assert.equal(early.statuses.at(-1), 'NetStream.Play.Stop');
  publications.unpublish(again.publication);
  assert.equal(publications.count, 0);
});

test('a name is published once; the application may refuse publishers and listeners', () => {
  const publications = new Publications();
  const seen: string[] = [];
  const events: StreamEvents = {
    onPublish: (_c, p) => (p.name === 'secret' ? { allowed: false } : { allowed: true }),
    onUnpublish: (_c, p) => void seen.push(`unpublish ${p.name}`),
    onSubscribe: (_c, l) => {
      seen.push(`subscribe ${l.publication.listeners.size}`);
      return l.parameters.key === 'x' ? { allowed: true } : { allowed: false, description: 'no key' };
    },
    onUnsubscribe: (_c, l) => void seen.push(`unsubscribe ${l.publication.listeners.size}`),
  };
  publications.events = events;
  const first = publications.publish('a', publisher(1));
  assert.ok(first.ok);
  assert.deepEqual(publications.publish('a', publisher(2)), {
    ok: false,
    code: 'NetStream.Publish.BadName',
    description: 'a is already published',
  });
  assert.deepEqual(publications.publish('secret', publisher(2)), {
    ok: false,
    code: 'NetStream.Publish.Failed',
    description: 'Not allowed to publish secret',
  });
  assert.equal(publications.get('secret'), undefined);
  assert.deepEqual(publications.subscribe('a', client(3), recordingSink()), { ok: false, description: 'no key' });
  const ok = publications.subscribe('a', client(3), recordingSink(), { parameters: { key: 'x' } });
  assert.ok(ok.ok);
  publications.unsubscribe(ok.listener, false);
  publications.unpublish(first.publication);
  assert.deepEqual(seen, ['subscribe 0', 'subscribe 0', 'unsubscribe 1', 'unpublish a']);
  assert.equal(publications.count, 0);
});

test('unbuffered listeners get media unreliable except configuration and key frames', () => {
  const publications = new Publications();
  const sink = recordingSink();
  const sub = publications.subscribe('u', undefined, sink, { unbuffered: true });
  assert.ok(sub.ok);
  sub.listener.start();
  const pub = publications.publish('u');
  assert.ok(pub.ok);
  pub.publication.pushVideo(0, AVC_CONFIG);
  pub.publication.pushVideo(0, key(1));
  pub.publication.pushVideo(40, inter(2));
  pub.publication.pushAudio(40, AAC_CONFIG);
  pub.publication.pushAudio(50, aac(1));
  assert.deepEqual(sink.reliability, [true, true, false, true, false]);
});

test('a slow listener drops media until its backlog clears, then resumes at a key frame', () => {
  const publications = new Publications();
  const slow = recordingSink();
  const fast = recordingSink();
  const a = publications.subscribe('s', undefined, slow);
  const b = publications.subscribe('s', undefined, fast);
  assert.ok(a.ok && b.ok);
  a.listener.start();
  b.listener.start();
  const pub = publications.publish('s');
  assert.ok(pub.ok);
  const p = pub.publication;
  p.pushVideo(0, key(1));
  slow.backlog.video = MAX_PENDING_BYTES + 1;
  slow.backlog.audio = MAX_PENDING_BYTES + 1;
  p.pushVideo(40, inter(2));
  p.pushVideo(80, key(3));
  p.pushAudio(80, aac(1));
  slow.backlog.video = 0;
  slow.backlog.audio = 0;
  p.pushVideo(120, inter(4));
  p.pushVideo(160, key(5));
  p.pushAudio(170, aac(2));
  assert.deepEqual(
    slow.video.map((m) => m.body[5]),
    [1, 5],
  );
  assert.deepEqual(
    fast.video.map((m) => m.body[5]),
    [1, 2, 3, 4, 5],
  );
  assert.equal(a.listener.videoQOS.droppedFrames, 3);
  assert.equal(a.listener.droppedMessages, 1);
  // the inspector's split: two frames and one audio message behind the backlog, then one frame until the key frame
  assert.equal(a.listener.droppedForCongestion, 3);
  assert.equal(a.listener.skippedUntilKeyFrame, 1);
  assert.deepEqual(
    slow.audio.map((m) => m.body[2]),
    [2],
  );
});

test('receiveVideo(false) skips video; turning it back on waits for a key frame; data is relayed verbatim', () => {
  const publications = new Publications();
  const sink = recordingSink();
  const sub = publications.subscribe('r', undefined, sink);
  assert.ok(sub.ok);
  sub.listener.start();
  const pub = publications.publish('r');
  assert.ok(pub.ok);
  const p = pub.publication;
  p.pushVideo(0, key(1));
  sub.listener.receiveVideo = false;
  p.pushVideo(40, inter(2));
  sub.listener.receiveVideo = true;
  p.pushVideo(80, inter(3));
  p.pushVideo(120, key(4));
  assert.deepEqual(
    sink.video.map((m) => m.body[5]),
    [1, 4],
  );
  const body = encodeData('onCuePoint', [{ t: 1 }]).subarray(5);
  p.pushDataMessage(0x0f, body);
  assert.deepEqual([...sink.data.at(-1)!.body], [...body]);
  assert.equal(sink.data.at(-1)!.type, 0x0f);
});
