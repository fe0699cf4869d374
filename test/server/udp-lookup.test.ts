// RTMFP sockets' lookup: IP literals answered at once (no tick per datagram), host names through DNS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { literalFirstLookup } from '../../src/protocols/rtmfp/udp-lookup.ts';

test('an IP literal is answered synchronously, with its family', () => {
  const answers: Array<[string, number]> = [];
  literalFirstLookup('127.0.0.1', 4, (error, address, family) => {
    assert.equal(error, null);
    answers.push([address, family]);
  });
  literalFirstLookup('::1', 6, (_error, address, family) => answers.push([address, family]));
  assert.deepEqual(answers, [
    ['127.0.0.1', 4],
    ['::1', 6],
  ]);
});

test('a host name goes to DNS', async () => {
  const [error, address] = await new Promise<[NodeJS.ErrnoException | null, string]>((resolve) =>
    literalFirstLookup('localhost', 4, (e, a) => resolve([e, a])),
  );
  assert.equal(error, null);
  assert.equal(address, '127.0.0.1');
});

test('a socket with it still delivers datagrams, to a literal and to a host name', async (t) => {
  const receiver = dgram.createSocket('udp4');
  const sender = dgram.createSocket({ type: 'udp4', lookup: literalFirstLookup });
  t.after(() => {
    receiver.close();
    sender.close();
  });
  receiver.bind(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address();
  sender.send(Uint8Array.of(1), port, '127.0.0.1');
  const [first] = (await once(receiver, 'message')) as [Buffer];
  assert.deepEqual([...first], [1]);
  sender.send(Uint8Array.of(2), port, 'localhost');
  const [second] = (await once(receiver, 'message')) as [Buffer];
  assert.deepEqual([...second], [2]);
});
