// Issue 12: session-slot exhaustion. A session is created at IIKeying; before the fix it was held 95 s with
// nothing following, so 10,200 keyings from one address filled all 10,000 slots. Half-open sessions (created,
// not connected) are now limited per address and in total, end after a few seconds, a full server answers
// visibly (an empty Redirect, which the client reports as busy) and counts and logs it at most once per interval,
// and a cookie creates one session in its whole lifetime, from the address it was given to only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectError, NetConnection } from '../../src/client/index.ts';
import { CHUNK, type RHelloChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { LOG_INTERVAL_MS } from '../../src/protocols/rtmfp/server.ts';
import { Keyer, type Keyed } from '../helpers/keyer.ts';
import { startLoggedServer } from '../helpers/logged-server.ts';

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test(
  'half-open sessions per address are bounded; the next handshake gets a visible busy answer, counted and logged once',
  { timeout: 30_000 },
  async () => {
    const s = await startLoggedServer(['--RTMFP.maxHalfOpenPerAddress=4']);
    const keyer = await Keyer.open(s.port);
    const clients: NetConnection[] = [];
    try {
      const outcomes: Array<Keyed | 'busy' | 'silent'> = [];
      for (let i = 0; i < 12; i++) outcomes.push(await keyer.key());
      assert.equal(outcomes.filter((o) => typeof o === 'object').length, 4, 'exactly the bound is created');
      assert.deepEqual(outcomes.slice(4), Array(8).fill('busy'), 'every later IHello gets the busy answer');
      assert.equal(s.server.sessions.size, 4);
      assert.equal(s.server.halfOpenFrom('127.0.0.1'), 4);
      assert.equal(s.server.stats.refused, 8);
      // one log line for eight refusals (same cause, same interval)
      assert.equal(s.lines('handshake refused', 'address-half-open-limit').length, 1);
      // a real client from that address sees why at once, rather than timing out
      await assert.rejects(NetConnection.connect(s.url, { timeoutMs: 5_000 }), (error: unknown) => {
        assert.ok(error instanceof ConnectError, String(error));
        assert.match(error.message, /busy/);
        return true;
      });
    } finally {
      keyer.close();
      for (const nc of clients) nc.destroy();
      await s.close();
    }
  },
);

test('half-open sessions in total are bounded', { timeout: 30_000 }, async () => {
  const s = await startLoggedServer(['--RTMFP.maxHalfOpenPerAddress=100', '--RTMFP.maxHalfOpen=3']);
  const keyers = await Promise.all([0, 1, 2, 3].map(() => Keyer.open(s.port)));
  try {
    const outcomes = [];
    for (const k of keyers) outcomes.push(await k.key());
    assert.equal(outcomes.filter((o) => typeof o === 'object').length, 3);
    assert.equal(outcomes[3], 'busy');
    assert.equal(s.server.halfOpenCount, 3);
    assert.equal(s.lines('handshake refused', 'half-open-full').length, 1);
  } finally {
    for (const k of keyers) k.close();
    await s.close();
  }
});

test(
  'a session with nothing under its keys ends after keyingTimeout, one keyed but never connected after connectTimeout; then real clients get in',
  { timeout: 30_000 },
  async () => {
    const s = await startLoggedServer(['--RTMFP.maxHalfOpenPerAddress=2']);
    const limits = s.server.halfOpenLimits;
    limits.keyingTimeoutMs = 300;
    limits.connectTimeoutMs = 600;
    const keyer = await Keyer.open(s.port);
    const clients: NetConnection[] = [];
    try {
      const silent = await keyer.key();
      const pinging = await keyer.key();
      assert.ok(typeof silent === 'object' && typeof pinging === 'object');
      assert.equal(await keyer.key(), 'busy');
      keyer.ping(pinging);
      await until(() => s.server.sessions.get(pinging.responderSessionId)?.keyed === true, 'the pinging session keyed');
      // the unkeyed one: ended by the session machine's keyingTimeout
      await until(() => !s.server.sessions.has(silent.responderSessionId), 'keying timeout', 3_000);
      assert.equal(s.server.halfOpenFrom('127.0.0.1'), 1);
      // the keyed, never connected one: ended by the connect timeout (checked on the manage tick, run here)
      await new Promise((r) => setTimeout(r, 700));
      s.server.expireHalfOpen();
      assert.equal(s.server.sessions.has(pinging.responderSessionId), false);
      assert.equal(s.server.halfOpenCount, 0);
      assert.equal(s.server.stats.halfOpenExpired >= 1, true);
      // the address has its slots back, and a connected client is no longer half-open
      const nc = await NetConnection.connect(s.url, { timeoutMs: 5_000 });
      clients.push(nc);
      assert.equal(s.server.halfOpenCount, 0, 'connected: not half-open');
      const nc2 = await NetConnection.connect(s.url, { timeoutMs: 5_000 });
      clients.push(nc2);
      s.server.expireHalfOpen();
      assert.equal(s.server.sessions.size, 2, 'connected sessions are never expired as half-open');
    } finally {
      keyer.close();
      for (const nc of clients) nc.destroy();
      await s.close();
    }
  },
);

test(
  'a cookie creates one session in its lifetime: a replayed IIKeying after the session keyed, or after it ended, creates none',
  { timeout: 30_000 },
  async () => {
    const s = await startLoggedServer();
    const keyer = await Keyer.open(s.port);
    try {
      const rhello = (await keyer.hello()) as RHelloChunk;
      assert.equal(rhello.type, CHUNK.RHELLO);
      const first = keyer.iiKeying(rhello);
      keyer.send(first.datagram);
      const ri = await keyer.riKeying(first.initiatorSessionId);
      assert.ok(ri);
      // a retransmitted IIKeying before the session keyed gets the very same RIKeying, and no second session
      const before = keyer.received.length;
      keyer.send(first.datagram);
      await until(() => keyer.received.length > before, 'the repeated RIKeying');
      assert.equal(s.server.sessions.size, 1);
      assert.equal(s.server.stats.sessionsOpened, 1);
      const keys = first.keying.complete(ri.skrc)!;
      const keyed: Keyed = {
        initiatorSessionId: first.initiatorSessionId,
        responderSessionId: ri.responderSessionId,
        keys,
        iiKeying: first.datagram,
        cookie: rhello.cookie,
      };
      keyer.ping(keyed);
      await until(() => s.server.handshake.pendingKeyings === 0, 'the keying record committed');
      // replays: the same IIKeying, and a new one (other session id, fresh skic) with the same cookie
      keyer.send(first.datagram);
      const second = keyer.iiKeying(rhello);
      keyer.send(second.datagram);
      assert.equal(await keyer.riKeying(second.initiatorSessionId, 300), undefined);
      assert.equal(s.server.stats.sessionsOpened, 1);
      // even once the session is gone, the cookie stays spent
      s.server.sessions.get(ri.responderSessionId)!.kill('test');
      const third = keyer.iiKeying(rhello);
      keyer.send(third.datagram);
      assert.equal(await keyer.riKeying(third.initiatorSessionId, 300), undefined);
      assert.equal(s.server.stats.sessionsOpened, 1);
      assert.equal(s.server.sessions.size, 0);
      assert.equal(s.lines('malformed input dropped', 'cookie-replayed').length, 1, 'replays are logged once per interval');
    } finally {
      keyer.close();
      await s.close();
    }
  },
);

test('a cookie replayed from another address creates nothing and gets no answer', { timeout: 30_000 }, async () => {
  const s = await startLoggedServer();
  const a = await Keyer.open(s.port);
  const b = await Keyer.open(s.port);
  try {
    const rhello = (await a.hello()) as RHelloChunk;
    const stolen = b.iiKeying(rhello);
    b.send(stolen.datagram);
    assert.equal(await b.riKeying(stolen.initiatorSessionId, 300), undefined);
    assert.equal(s.server.sessions.size, 0);
    // the rightful address can still use it
    const own = a.iiKeying(rhello);
    a.send(own.datagram);
    assert.ok(await a.riKeying(own.initiatorSessionId));
    assert.equal(s.server.sessions.size, 1);
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

test(
  'the spent-cookie table is bounded: when full of live cookies, new keyings are refused, not remembered',
  { timeout: 30_000 },
  async () => {
    const s = await startLoggedServer();
    const keyer = await Keyer.open(s.port);
    try {
      (s.server.handshake as unknown as { maxSpent: number }).maxSpent = 2;
      assert.equal(typeof (await keyer.key()), 'object');
      assert.equal(typeof (await keyer.key()), 'object');
      const rhello = (await keyer.hello()) as RHelloChunk;
      const third = keyer.iiKeying(rhello);
      keyer.send(third.datagram);
      assert.equal(await keyer.riKeying(third.initiatorSessionId, 300), undefined);
      assert.equal(s.server.handshake.spentCount, 2);
      assert.equal(s.lines('handshake refused', 'cookie-table-full').length, 1);
    } finally {
      keyer.close();
      await s.close();
    }
  },
);

test('refusals are logged once per interval per cause, with the count suppressed in between', async () => {
  assert.ok(LOG_INTERVAL_MS >= 1_000 && LOG_INTERVAL_MS <= 60_000);
  const { RateLimitedLog } = await import('../../src/log.ts');
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const logger = { info: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) };
  let now = 0;
  const log = new RateLimitedLog(logger as never, 1_000, () => now);
  for (let i = 0; i < 1_000; i++) log.log('info', 'a', 'dropped');
  log.log('info', 'b', 'dropped');
  assert.equal(lines.length, 2);
  now = 1_000;
  for (let i = 0; i < 10; i++) log.log('info', 'a', 'dropped');
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.fields.suppressed, 999);
  assert.equal(lines[2]!.fields.cause, 'a');
});
