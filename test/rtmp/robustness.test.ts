// Bad RTMP input ends only the connection that sent it, with a log line, and never an error-level record
// (no exception escaped); RTMFP clients of the same server keep working. Silence closes after [RTMP] timeout;
// a player that stops reading loses media or is dropped, never making the server buffer without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import diagnostics from 'node:diagnostics_channel';
import { startWatchedServer, type WatchedServer } from '../helpers/watched-server.ts';
import { RawRtmpClient, freeTcpPort } from '../helpers/rtmp-client.ts';
import { NetConnection } from '../../src/client/index.ts';
import { MAX_SOCKET_BACKLOG, MSG } from '../../src/protocols/rtmp/params.ts';

async function withServer(args: string[], body: (server: WatchedServer, rtmpPort: number) => Promise<void>): Promise<void> {
  const rtmpPort = await freeTcpPort();
  const server = await startWatchedServer([`--RTMP.port=${rtmpPort}`, '--RTMP.host=127.0.0.1', ...args]);
  try {
    await body(server, rtmpPort);
    // an RTMFP client still connects and calls
    const nc = await NetConnection.connect(server.url);
    await nc.close();
    assert.deepEqual(server.errors, []);
  } finally {
    await server.close();
  }
}

/** Writes raw bytes and resolves once the server has closed the socket. */
async function closedAfter(port: number, ...writes: Uint8Array[]): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.on('data', () => {});
  try {
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    for (const bytes of writes) socket.write(bytes);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server kept the connection open')), 3_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    socket.destroy();
  }
}

const u32 = (value: number) => Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);

test('garbage or a wrong version instead of C0 closes that connection at once', { timeout: 15_000 }, async () => {
  await withServer([], async (server, port) => {
    await closedAfter(port, new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await closedAfter(port, Uint8Array.of(6, ...new Uint8Array(1536)));
    await closedAfter(port, Uint8Array.of(0));
    assert.equal(server.nimbus.rtmp!.connections.size, 0);
  });
});

test('absurd chunk sizes and message lengths end only that connection', { timeout: 15_000 }, async () => {
  await withServer([], async (server, port) => {
    const healthy = await RawRtmpClient.open({ port });
    try {
      await healthy.connect('live');
      // a chunk size of 0 (or with bit 31) is refused
      const zero = await RawRtmpClient.open({ port });
      zero.send(2, MSG.SET_CHUNK_SIZE, 0, 0, u32(0));
      await zero.until(() => zero.closed, 'close after chunk size 0');
      const top = await RawRtmpClient.open({ port });
      top.send(2, MSG.SET_CHUNK_SIZE, 0, 0, u32(0x80000000));
      await top.until(() => top.closed, 'close after chunk size 2^31');
      // 2^24 - 1 is accepted, then a 16 MB video message is over the 8 MB cap, announced in its first chunk
      const big = await RawRtmpClient.open({ port, chunkSize: 0xffffff });
      await big.connect('live');
      big.socket.write(Uint8Array.of(0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0));
      await big.until(() => big.closed, 'close after a 16 MB message');
      // a 1 MB command is over the 64 KiB command cap
      const command = await RawRtmpClient.open({ port });
      command.socket.write(Uint8Array.of(0x03, 0, 0, 0, 0x10, 0, 0, 0x14, 0, 0, 0, 0));
      await command.until(() => command.closed, 'close after a 1 MB command');
      // too many chunk streams
      const many = await RawRtmpClient.open({ port });
      for (let csid = 3; csid < 100; csid++) many.send(csid, MSG.AUDIO, 0, 0, Uint8Array.of(0xaf, 1));
      await many.until(() => many.closed, 'close after 64 chunk streams');
      // a fresh chunk stream may not start with fmt 2 or 3
      const fmt3 = await RawRtmpClient.open({ port });
      fmt3.socket.write(Uint8Array.of(0xc5, 1, 2, 3));
      await fmt3.until(() => fmt3.closed, 'close after fmt 3 on a fresh csid');
      // the first client was never disturbed
      const answer = await healthy.answer(healthy.command('createStream', []));
      assert.equal(answer.name, '_result');
      assert.equal(server.nimbus.rtmp!.connections.size, 1);
    } finally {
      healthy.close();
    }
  });
});

test('a client silent for [RTMP] timeout is closed; one answering pings stays', { timeout: 15_000 }, async () => {
  await withServer(['--RTMP.timeout=2'], async (server, port) => {
    const silent = await RawRtmpClient.open({ port });
    silent.answerPings = false;
    await silent.connect('live');
    const lively = await RawRtmpClient.open({ port });
    try {
      await lively.connect('live');
      const started = Date.now();
      await silent.until(() => silent.closed, 'silent client closed', 5_000);
      assert.ok(Date.now() - started >= 1_500, 'not before the timeout');
      // pinged every half timeout: PingRequest received and answered
      assert.ok(
        lively.messages.some((m) => m.type === MSG.USER_CONTROL && m.payload[1] === 6),
        'PingRequest sent',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(lively.closed, false);
      assert.equal(server.nimbus.rtmp!.connections.size, 1);
    } finally {
      lively.close();
      silent.close();
    }
  });
});

test('a player that stops reading loses media or is dropped; the server never holds more than its cap', { timeout: 20_000 }, async () => {
  await withServer([], async (server, port) => {
    const publisher = await RawRtmpClient.open({ port, chunkSize: 65536 });
    const reader = await RawRtmpClient.open({ port });
    try {
      await publisher.connect('live');
      await reader.connect('live');
      const out = await publisher.createStream();
      publisher.command('publish', ['flood', 'live'], out, null, 8);
      await publisher.status('NetStream.Publish.Start', out);
      const inId = await reader.createStream();
      reader.command('play', ['flood'], inId, null, 8);
      await reader.status('NetStream.Play.Start', inId);
      reader.socket.pause(); // stops reading: the kernel buffers fill, then the server's socket queue
      const frame = new Uint8Array(100_000).fill(0x27);
      frame[0] = 0x17;
      frame[1] = 1;
      let maxBacklog = 0;
      for (let i = 0; i < 600; i++) {
        publisher.send(7, MSG.VIDEO, out, i * 40, frame);
        if (i % 20 === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          for (const connection of server.nimbus.rtmp!.connections.values()) maxBacklog = Math.max(maxBacklog, connection.backlog);
        }
      }
      await publisher.until(() => (server.server.core.publications.get('flood')?.lastTime ?? 0) >= 599 * 40, 'all frames relayed', 10_000);
      const listener = [...(server.server.core.publications.get('flood')?.listeners.values() ?? [])][0];
      const dropped = server.server.core.publications.get('flood')!.droppedFrames;
      // either the listener dropped frames (256 KiB per-track limit) or the connection was cut (hard cap)
      assert.ok(dropped > 0 || listener === undefined, `dropped ${dropped}`);
      assert.ok(maxBacklog <= MAX_SOCKET_BACKLOG + 200_000, `backlog ${maxBacklog}`);
      assert.equal(publisher.closed, false);
    } finally {
      publisher.close();
      reader.close();
    }
  });
});

test('diagnostics: RTMP connections open and close on nimbus:session:*, bad input on nimbus:malformed', { timeout: 15_000 }, async () => {
  const seen: Array<Record<string, unknown>> = [];
  const record = (name: string) => (message: unknown) => seen.push({ channel: name, ...(message as Record<string, unknown>) });
  const handlers = ['nimbus:session:open', 'nimbus:session:close', 'nimbus:malformed'].map((name) => [name, record(name)] as const);
  for (const [name, handler] of handlers) diagnostics.subscribe(name, handler);
  try {
    await withServer([], async (_server, port) => {
      await closedAfter(port, Uint8Array.of(6, 0, 0));
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  } finally {
    for (const [name, handler] of handlers) diagnostics.unsubscribe(name, handler);
  }
  const rtmp = seen.filter((m) => m.protocol === 'RTMP');
  assert.deepEqual(
    rtmp.map((m) => m.channel),
    ['nimbus:session:open', 'nimbus:malformed', 'nimbus:session:close'],
  );
  assert.equal(rtmp[1]!.cause, 'rtmp-handshake');
  assert.match(String(rtmp[2]!.reason), /handshake version 6/);
});
