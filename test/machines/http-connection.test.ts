// machines/http-connection.ts: a connection serves requests, carries one live stream at a time and returns to
// requests when it ends, or is upgraded for good; closing ends it from any state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { httpConnectionMachine, type HttpConnectionEvent } from '../../machines/http-connection.ts';

function run(events: HttpConnectionEvent[]): { value: unknown; status: string; reason: string } {
  const actor = createActor(httpConnectionMachine).start();
  for (const event of events) actor.send(event);
  const snapshot = actor.getSnapshot();
  return { value: snapshot.value, status: snapshot.status, reason: snapshot.context.reason };
}

test('requests, a stream and back, then closed', () => {
  assert.equal(run([]).value, 'requests');
  assert.equal(run([{ type: 'STREAM' }]).value, 'streaming');
  assert.equal(run([{ type: 'STREAM' }, { type: 'STREAM_END' }]).value, 'requests');
  // a stream in flight cannot be upgraded: no request can follow it on the connection
  assert.equal(run([{ type: 'STREAM' }, { type: 'UPGRADE' }]).value, 'streaming');
  const closed = run([{ type: 'STREAM' }, { type: 'CLOSED', reason: 'closed' }]);
  assert.deepEqual(closed, { value: 'closed', status: 'done', reason: 'closed' });
});

test('an upgraded connection stays a WebSocket session until closed', () => {
  assert.equal(run([{ type: 'UPGRADE' }]).value, 'upgraded');
  assert.equal(run([{ type: 'UPGRADE' }, { type: 'STREAM' }]).value, 'upgraded');
  assert.equal(run([{ type: 'UPGRADE' }, { type: 'CLOSED', reason: 'closed' }]).status, 'done');
});
