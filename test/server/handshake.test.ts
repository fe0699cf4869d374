// The responder handshake's own bounds (RFC 7016 §3.5.1): a cookie is accepted within its lifetime and a
// second of clock step back, from the address it was issued to; the table of keyings in progress holds at most
// maxKeyings, dropping the oldest. Driven on a settable clock (it may step back): times are set, not waited for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock, type Clock } from '../../src/clock.ts';
import { COOKIE_LIFETIME_MS, Handshake, cookieKey, type KeyingInProgress } from '../../src/protocols/rtmfp/handshake.ts';

const from = { host: '127.0.0.1', port: 1935 };

/** the system clock's timers, a time set by hand */
class SetClock implements Clock {
  private at = 1_000_000;
  now = (): number => this.at;
  set(at: number): void {
    this.at = at;
  }
  setTimeout = systemClock.setTimeout;
  clearTimeout = systemClock.clearTimeout;
}

function handshake(maxKeyings = 8): { clock: SetClock; handshake: Handshake } {
  const clock = new SetClock();
  return { clock, handshake: new Handshake({ certificate: new Uint8Array(76), groups: [2], clock, maxKeyings }) };
}

test('a cookie is valid from its second to COOKIE_LIFETIME_MS later, and one second before (a clock stepped back)', () => {
  const { clock, handshake: h } = handshake();
  const cookie = h.makeCookie(from); // issued at second 1000
  for (const at of [1_000_000 - 1000, 1_000_000, 1_000_000 + COOKIE_LIFETIME_MS]) {
    clock.set(at);
    assert.ok(h.checkCookie(cookie, from), `valid at ${at}`);
  }
  for (const at of [1_000_000 - 1001, 1_000_000 + COOKIE_LIFETIME_MS + 1]) {
    clock.set(at);
    assert.equal(h.checkCookie(cookie, from), false, `expired at ${at}`);
  }
  clock.set(1_000_000);
  assert.equal(h.checkCookie(cookie, { host: from.host, port: from.port + 1 }), false, 'another port');
  assert.equal(h.checkCookie(cookie.subarray(0, 63), from), false, 'a truncated cookie');
});

test('keyings in progress are bounded by maxKeyings: the oldest is dropped for a new one, its cookie stays spent', () => {
  const { clock, handshake: h } = handshake(2);
  const entries = [1, 2, 3].map((sessionId): KeyingInProgress => {
    const cookie = cookieKey(h.makeCookie(from));
    return {
      cookie,
      initiatorSessionId: sessionId,
      skic: new Uint8Array(0),
      sessionId,
      riKeying: new Uint8Array(0),
      createdAt: clock.now(),
      expiresAt: clock.now() + COOKIE_LIFETIME_MS,
    };
  });
  const latin1 = (key: string) => Uint8Array.from(Buffer.from(key, 'latin1'));
  h.remember(entries[0]!);
  h.remember(entries[1]!);
  assert.equal(h.pendingKeyings, 2);
  h.remember(entries[2]!);
  assert.equal(h.pendingKeyings, 2, 'never more than maxKeyings');
  assert.equal(h.existing(latin1(entries[0]!.cookie)), undefined, 'the oldest is dropped');
  assert.equal(h.existing(latin1(entries[2]!.cookie)), entries[2]);
  assert.ok(h.spent(latin1(entries[0]!.cookie)), 'a dropped keying leaves its cookie spent');
  h.commit(2);
  assert.equal(h.pendingKeyings, 1, 'a session answering under its keys ends its keying record');
});
