import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, sessionLogger, LEVELS, LUA_LOG_FUNCTIONS, type LevelName } from '../../src/log.ts';

/** Collects whatever the logger writes. */
function memory(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function lines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const NAMES = Object.keys(LEVELS) as LevelName[];

test('the eight levels have distinct severities, highest first', () => {
  const values = NAMES.map((name) => LEVELS[name]);
  assert.equal(new Set(values).size, 8);
  assert.deepEqual(
    [...values].sort((a, b) => b - a),
    values,
  );
  assert.deepEqual(LEVELS, { fatal: 60, critic: 55, error: 50, warn: 40, note: 35, info: 30, debug: 20, trace: 10 });
});

test('each Lua log function writes at its own level', () => {
  const targets = Object.values(LUA_LOG_FUNCTIONS);
  assert.equal(new Set(targets).size, 8);
  for (const [fn, level] of Object.entries(LUA_LOG_FUNCTIONS)) assert.equal(fn.toLowerCase(), level);
});

test('every level is written with its number, and lower levels are filtered out', () => {
  for (const threshold of NAMES) {
    const out = memory();
    const logger = createLogger({ level: threshold, pretty: 'false', destination: out.stream });
    for (const name of NAMES) logger[name](`at ${name}`);
    const written = lines(out.text());
    const expected = NAMES.filter((name) => LEVELS[name] >= LEVELS[threshold]);
    assert.deepEqual(
      written.map((line) => line['msg']),
      expected.map((name) => `at ${name}`),
      `threshold ${threshold}`,
    );
    assert.deepEqual(
      written.map((line) => line['level']),
      expected.map((name) => LEVELS[name]),
    );
  }
});

test('level names are accepted in upper case, unknown ones are refused', () => {
  const out = memory();
  const logger = createLogger({ level: 'NOTE', pretty: 'false', destination: out.stream });
  logger.info('hidden');
  logger.note('shown');
  assert.deepEqual(
    lines(out.text()).map((line) => line['msg']),
    ['shown'],
  );
  assert.throws(() => createLogger({ level: 'loud', destination: out.stream }), /logs\.level/);
});

test('a session logger carries the session id and address on every line', () => {
  const out = memory();
  const logger = createLogger({ level: 'trace', pretty: 'false', destination: out.stream });
  const session = sessionLogger(logger, { session: 42, address: '192.0.2.1:50000' });
  session.note('opened');
  session.critic('broken');
  logger.info('server line');
  const [opened, broken, server] = lines(out.text());
  assert.equal(opened?.['session'], 42);
  assert.equal(opened?.['address'], '192.0.2.1:50000');
  assert.equal(broken?.['level'], LEVELS.critic);
  assert.equal(server?.['session'], undefined);
});

test('auto picks JSON when the destination is not a terminal', () => {
  const out = memory();
  createLogger({ level: 'info', pretty: 'auto', destination: out.stream }).info('plain');
  assert.equal(lines(out.text())[0]?.['msg'], 'plain');
});

test('pretty output names the custom levels', async () => {
  const out = memory();
  const logger = createLogger({ level: 'trace', pretty: 'true', destination: out.stream });
  logger.note('hello');
  logger.critic('trouble');
  // pino-pretty hands lines on asynchronously: give it turns of the event loop, not time
  for (let turn = 0; turn < 1000 && !out.text().includes('trouble'); turn++) await new Promise(setImmediate);
  const text = out.text();
  assert.match(text, /NOTE.*hello/);
  assert.match(text, /CRITIC.*trouble/);
  assert.doesNotMatch(text, /^\{/);
});
