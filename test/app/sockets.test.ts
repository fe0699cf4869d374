import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { SMTPServer } from 'smtp-server';
import { type FakeWriter, connectedApp } from './harness.ts';

const app = (configs?: Record<string, Record<string, string>>) => connectedApp('net', { configs });

/** Polls (a generous deadline, not a timing assertion) for the n-th invocation called `name`. */
async function invocation(w: FakeWriter, name: string, n = 1): Promise<unknown[]> {
  for (let i = 0; i < 2000; i++) {
    const hits = w.written.filter((x) => x.kind === 'invocation' && x.name === name);
    const hit = hits[n - 1];
    if (hit && hit.kind === 'invocation') return hit.args;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${name} invocation`);
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond());
}

test('TCP server in Lua: clientHandler/onConnection, partial receptions kept, stop', async () => {
  const t = app();
  try {
    assert.deepEqual(t.call('echoServer'), [true, true]);
    let port = 0;
    await until(() => (port = t.call('serverPort')[0] as number) > 0);
    const s = new Socket();
    s.connect(port, '127.0.0.1');
    await once(s, 'connect');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.write('hel');
    s.write('lo\nwor');
    s.write('ld\n');
    await until(() => got === 'echo:hello\necho:world\n');
    s.destroy();
    // started again: on its port it goes on; on another (0: any) it moves there
    assert.deepEqual(t.call('startAgain', port), [true, true, port]);
    const [moved, running, newPort] = t.call('startAgain', 0) as [boolean, boolean, number];
    assert.deepEqual([moved, running], [true, true]);
    assert.notEqual(newPort, port);
    assert.deepEqual(t.call('stopServer'), [false]);
  } finally {
    t.host.stop();
    t.cleanup();
  }
});

test('TCP client in Lua: connect, binary send, onReception, onDisconnection, refused connection', async () => {
  const t = app();
  const server = createServer();
  const received: Buffer[] = [];
  server.on('connection', (s) => {
    s.on('data', (d: Buffer) => {
      received.push(d);
      s.write('pong');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    assert.deepEqual(t.call('dial', port), [null, true]);
    const [data, hasPeer, connected] = await invocation(t.c.writer, 'received');
    assert.deepEqual([data, hasPeer, connected], ['pong', true, true]);
    assert.deepEqual(Buffer.concat(received), Buffer.from('\0\x01binary\xff', 'latin1'));
    t.call('hangup');
    assert.deepEqual(await invocation(t.c.writer, 'closed'), [null]);
    // send: nothing when it goes out (the dial above), an error message when it cannot (MonaServer)
    assert.deepEqual(t.call('sendAfter'), ['not connected']);
    server.close();
    await once(server, 'close');
    assert.deepEqual(t.call('dial', port), [null, true]);
    const [error] = await invocation(t.c.writer, 'closed', 2);
    assert.match(error as string, /ECONNREFUSED/);
  } finally {
    server.close();
    t.host.stop();
    t.cleanup();
  }
});

test('UDP socket in Lua: bind, onReception(data, address), send back to the sender', async () => {
  const t = app();
  const peer = createSocket('udp4');
  try {
    // the Sockets page: bind returns nothing on success, an error message on failure
    assert.deepEqual(t.call('udp'), []);
    assert.deepEqual(t.call('udpBadBind'), ['invalid address not an address']);
    let address = '';
    await until(() => (address = (t.call('udpAddress')[0] as string | null) ?? '') !== '' && !address.endsWith(':0'));
    const port = Number(address.split(':')[1]);
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    const reply = once(peer, 'message');
    peer.send(Buffer.from([0x61, 0x00, 0xff]), port, '127.0.0.1');
    const [msg] = (await reply) as [Buffer];
    assert.deepEqual(msg, Buffer.from([0x72, 0x65, 0x3a, 0x61, 0x00, 0xff]));
  } finally {
    peer.close();
    t.host.stop();
    t.cleanup();
  }
});

test('sendMail through [smtp]: delivered, refused recipient, timeout', async () => {
  const mails: string[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('nobody')) cb(new Error('no such user'));
      else cb();
    },
    onData(stream, _session, cb) {
      let text = '';
      stream.on('data', (d: Buffer) => (text += d.toString()));
      stream.on('end', () => {
        mails.push(text);
        cb();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const port = (smtp.server.address() as AddressInfo).port;
  // a server that accepts connections and never greets: the timeout
  const mute = createServer(() => {});
  mute.listen(0, '127.0.0.1');
  await once(mute, 'listening');
  const t = app({ smtp: { host: '127.0.0.1', port: String(port), timeout: '1' } });
  try {
    t.call('mail', port, 'you@example.com');
    assert.deepEqual(await invocation(t.c.writer, 'sent'), [null]);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!, /Subject: Hello/);
    assert.match(mails[0]!, /Body text/);
    t.call('mail', port, 'nobody@example.com');
    const [refused] = await invocation(t.c.writer, 'sent', 2);
    assert.match(refused as string, /no such user|refused|nobody/i);
    t.server.configs['smtp'] = { host: '127.0.0.1', port: String((mute.address() as AddressInfo).port), timeout: '0.2' };
    t.call('mail', port, 'you@example.com');
    const [timeout] = await invocation(t.c.writer, 'sent', 3);
    assert.match(timeout as string, /time|greeting never received/i);
  } finally {
    t.host.stop();
    t.cleanup();
    mute.close();
    await new Promise<void>((r) => smtp.close(() => r()));
  }
});
