// A listener's actor finds it through a binding (src/actors/bindings.ts): the binding must go when the actor ends,
// refused by onSubscribe or closed by unsubscribe, or every play would leave a Listener behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Publications } from '../../src/core/media/publications.ts';
import { boundListeners } from '../../src/core/media/publication.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { recordingSink } from './helpers.ts';

const client = { rawId: new Uint8Array(32).fill(3) } as unknown as ClientPort;

function registry(allow: boolean): Publications {
  const publications = new Publications();
  publications.events = {
    onPublish: () => ({ allowed: true }),
    onUnpublish() {},
    onSubscribe: () => (allow ? { allowed: true } : { allowed: false, description: 'no' }),
    onUnsubscribe() {},
  };
  return publications;
}

test('a played then unsubscribed listener leaves no binding, published or not', () => {
  const before = boundListeners();
  const publications = registry(true);
  const waiting = publications.subscribe('waiting', client, recordingSink());
  assert.ok(waiting.ok);
  waiting.listener.start();
  const published = publications.publish('live', { client, close() {} });
  assert.ok(published.ok);
  const playing = publications.subscribe('live', client, recordingSink());
  assert.ok(playing.ok);
  playing.listener.start();
  assert.equal(playing.listener.state, 'awaitingKeyFrame', 'the publishing guard saw the running publication');
  assert.equal(waiting.listener.state, 'waiting');
  assert.equal(boundListeners(), before + 2);
  publications.unsubscribe(waiting.listener, true);
  publications.unsubscribe(playing.listener, true);
  assert.equal(boundListeners(), before);
});

test('a listener refused by onSubscribe leaves no binding', () => {
  const before = boundListeners();
  const outcome = registry(false).subscribe('refused', client, recordingSink());
  assert.equal(outcome.ok, false);
  assert.equal(boundListeners(), before);
});
