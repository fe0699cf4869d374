// Lifecycle events on node:diagnostics_channel (src/core/diagnostics.ts), seen by a subscriber of a real
// server on UDP loopback: sessions, clients, publications, listeners, script errors and malformed input.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { createActor } from 'xstate';
import { steppedMachine as flowMachine } from '../helpers/stepped-machine.ts';
import { ACTOR_CHANNEL, observe, type ActorMessage } from '../../src/actors/observe.ts';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';
import { channels, type ChannelMessages } from '../../src/core/diagnostics.ts';
import type { ClientPort } from '../../src/core/ports.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/diagnostics/', import.meta.url));
const TIMEOUT = { timeout: 20_000 };

type Name = keyof ChannelMessages;
interface Seen<N extends Name = Name> {
  channel: N;
  message: ChannelMessages[N];
}

/** Every message of every lifecycle channel from now until the test ends, in order. */
function record(t: TestContext): Seen[] {
  const seen: Seen[] = [];
  for (const channel of Object.values(channels)) {
    const name = channel.name as Name;
    const listener = (message: unknown): void => void seen.push({ channel: name, message: message as never });
    diagnostics.subscribe(name, listener);
    t.after(() => diagnostics.unsubscribe(name, listener));
  }
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function of<N extends Name>(seen: readonly Seen[], channel: N): Array<ChannelMessages[N]> {
  return seen.filter((s) => s.channel === channel).map((s) => s.message as ChannelMessages[N]);
}

test('connect, publish, play and close: sessions, clients, publication and listener in order', TIMEOUT, async (t) => {
  const seen = record(t);
  const server = await startTestServer();
  const connections: NetConnection[] = [];
  try {
    const url = `rtmfp://127.0.0.1:${server.port}/live`;
    const publisher = await NetConnection.connect(url);
    connections.push(publisher);
    const published = await publisher.createNetStream();
    const started = published.waitStatus('NetStream.Publish.Start');
    published.publish('cam');
    await started;

    const player = await NetConnection.connect(url);
    connections.push(player);
    const played = await player.createNetStream();
    const playing = played.waitStatus('NetStream.Play.Start');
    played.play('cam');
    await playing;

    // who is who: the address each session opened from
    const opened = of(seen, 'nimbus:session:open');
    assert.equal(opened.length, 2);
    const label = new Map(opened.map((m, i) => [m.address, i === 0 ? 'A' : 'B']));
    const who = (client: ClientPort | undefined): string => (client ? (label.get(client.address) ?? '?') : '-');
    const line = (s: Seen): string => {
      const m = s.message as unknown as Record<string, unknown>;
      const short = s.channel.slice('nimbus:'.length);
      if ('protocol' in m && 'id' in m)
        return `${short} ${String(m.protocol)} ${label.get(String(m.address))}${m.reason ? ` (${String(m.reason)})` : ''}`;
      if ('name' in m) return `${short} ${String(m.name)} ${who(m.client as ClientPort | undefined)}`;
      return `${short} ${who(m.client as ClientPort)}`;
    };
    assert.deepEqual(seen.map(line), [
      'session:open RTMFP A',
      'client:connect A',
      'publication:publish cam A',
      'session:open RTMFP B',
      'client:connect B',
      'listener:subscribe cam B',
    ]);
    for (const m of opened) {
      assert.equal(typeof m.id, 'number');
      assert.match(m.address, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal(of(seen, 'nimbus:client:connect')[0]!.client.protocol, 'RTMFP');

    const before = seen.length;
    await player.close();
    await until(() => of(seen, 'nimbus:session:close').length === 1, "the player's session to close");
    await publisher.close();
    await until(() => of(seen, 'nimbus:session:close').length === 2, "the publisher's session to close");
    const closing = seen.slice(before);
    assert.deepEqual(
      closing.map((s) => line(s).replace(/ \(.*\)$/, '')),
      [
        'listener:unsubscribe cam B',
        'client:disconnect B',
        'session:close RTMFP B',
        'publication:unpublish cam A',
        'client:disconnect A',
        'session:close RTMFP A',
      ],
    );
    const closes = of(closing, 'nimbus:session:close');
    assert.deepEqual(
      closes.map((m) => m.id),
      [opened[1]!.id, opened[0]!.id],
    );
    assert.deepEqual(
      closes.map((m) => m.reason),
      ['closed by peer', 'closed by peer'],
    );
  } finally {
    for (const nc of connections) nc.destroy();
    await server.close();
  }
});

test('a Lua error in a client method and in a main.lua: nimbus:script:error with application, event and message', TIMEOUT, async (t) => {
  const seen = record(t);
  const server = await startTestServer({ dir: FIXTURE });
  const connections: NetConnection[] = [];
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
    connections.push(nc);
    await assert.rejects(nc.call('fail', 3), (error: unknown) => error instanceof CallError && /failed 3/.test(error.message));
    const [error, ...others] = of(seen, 'nimbus:script:error');
    assert.deepEqual(others, []);
    assert.equal(error!.application, '');
    assert.equal(error!.event, 'client:fail');
    assert.match(error!.message, /main\.lua:3: failed 3$/);
    assert.equal(error!.level, 'warn');
    assert.match(error!.traceback ?? '', /stack traceback/);

    // an application whose main.lua raises as it is built, on its first connection
    const broken = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/broken`).catch(() => undefined);
    if (broken) connections.push(broken);
    await until(() => of(seen, 'nimbus:script:error').length === 2, 'the main.lua error');
    const loading = of(seen, 'nimbus:script:error')[1]!;
    assert.equal(loading.application, '/broken');
    assert.equal(loading.event, 'main.lua');
    assert.match(loading.message, /cannot start/);
    assert.equal(loading.level, 'error');
  } finally {
    for (const nc of connections) nc.destroy();
    await server.close();
  }
});

test('malformed datagrams: nimbus:malformed with a cause each, counted as before', TIMEOUT, async (t) => {
  const seen = record(t);
  const server = await startTestServer();
  const socket = dgram.createSocket('udp4');
  const connections: NetConnection[] = [];
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const local = `127.0.0.1:${socket.address().port}`;
    const send = (bytes: Uint8Array): void => socket.send(bytes, server.port, '127.0.0.1');
    const malformed = (): Array<ChannelMessages['nimbus:malformed']> => of(seen, 'nimbus:malformed');

    send(Uint8Array.of(1, 2, 3, 4)); // too short to carry a session id
    await until(() => malformed().length === 1, 'the short datagram');
    send(new Uint8Array(28)); // session id 0 (a startup packet) whose checksum does not match
    await until(() => malformed().length === 2, 'the startup packet');

    // a live session's id, then bytes its keys do not decrypt
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
    connections.push(nc);
    const id = of(seen, 'nimbus:session:open')[0]!.id as number;
    const forged = new Uint8Array(28);
    new DataView(forged.buffer).setUint32(0, id);
    forged.fill(0x5a, 12);
    send(forged);
    await until(() => malformed().length === 3, 'the undecryptable packet');

    assert.deepEqual(
      malformed().map((m) => [m.protocol, m.cause, m.address]),
      [
        ['RTMFP', 'session-id', local],
        ['RTMFP', 'startup-checksum', local],
        ['RTMFP', 'session-decrypt', local],
      ],
    );
    assert.equal(server.server.rtmfp.stats.malformed, 3);
    assert.equal(nc.session?.closed, false, 'the session survives a forged packet');
  } finally {
    socket.close();
    for (const nc of connections) nc.destroy();
    await server.close();
  }
});

test('nimbus:actor: inspection events with the actor they are about, for actors created while subscribed', (t) => {
  const messages: ActorMessage[] = [];
  const listener = (message: unknown): void => void messages.push(message as ActorMessage);
  assert.deepEqual(observe('flow', '4.1'), { id: 'flow:4.1' }, 'nobody listens: no inspect callback');
  diagnostics.subscribe(ACTOR_CHANNEL, listener);
  t.after(() => diagnostics.unsubscribe(ACTOR_CHANNEL, listener));
  const actor = createActor(flowMachine, observe('flow', '4.2')).start();
  actor.send({ type: 'ACCEPT', kind: 'NetStream' });
  assert.deepEqual(messages[0]!.meta, { name: 'flow:4.2', kind: 'flow', parent: 'session:4' });
  assert.equal(messages[0]!.event.type, '@xstate.actor');
  assert.ok(messages.some((m) => m.event.type === '@xstate.event' && m.event.event.type === 'ACCEPT'));
  diagnostics.unsubscribe(ACTOR_CHANNEL, listener);
  const count = messages.length;
  actor.stop();
  assert.equal(messages.length, count, 'an unsubscribed listener hears no more');
});

test("after the tests' t.after hooks no channel has a subscriber left (publishers then skip the message)", () => {
  for (const channel of Object.values(channels)) assert.equal(channel.hasSubscribers, false, String(channel.name));
  assert.equal(diagnostics.channel(ACTOR_CHANNEL).hasSubscribers, false);
});
