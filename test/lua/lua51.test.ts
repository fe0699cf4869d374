// Lua 5.1 / LuaJIT semantics on the patched fengari (patches/fengari+*.patch, docs/lua-differences.md):
// a real server on UDP loopback runs test/fixtures/lua51 and the client sends chunks that return
// what LuaJIT returns (CumulusServer/MonaServer scripts are written for it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/index.ts';
import type { AMFValue } from '../../src/flash/amf/types.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/lua51/', import.meta.url));
let dir = '';
let server: TestServer;
let nc: NetConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nimbus-lua51-'));
  cpSync(FIXTURE, dir, { recursive: true });
  server = await startTestServer({ dir });
  nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
});

after(async () => {
  if (nc?.connected) await nc.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function evalLua(code: string): Promise<AMFValue> {
  const [value] = await nc.call('eval', code);
  return value;
}

/** Each chunk returns a string (tostring/format results): what LuaJIT prints. */
async function expectAll(cases: [string, string][]): Promise<void> {
  for (const [code, expected] of cases) assert.equal(await evalLua(code), expected, code);
}

test('numbers are doubles: no 32-bit wraparound, in literals, constant folding and run time', async () => {
  await expectAll([
    ['return tostring(2147483647 + 1)', '2147483648'],
    ['local x = 2147483647; return tostring(x + 1)', '2147483648'],
    ['local x = 65536; return tostring(x * x)', '4294967296'],
    ['return tostring(65536 * 65536)', '4294967296'],
    ['local x = 200; return tostring(x * 16777216)', '3355443200'],
    ['return tostring(0xffffffff)', '4294967295'],
    ['return tostring(tonumber("0xffffffff"))', '4294967295'],
    ['local x = -2147483647 - 1; return tostring(-x)', '2147483648'],
    ['local x = -2147483647; return tostring(x - 10)', '-2147483657'],
    ['return tostring(os.time() * 1000 > 1e12)', 'true'],
    ['return tostring("10" + 2147483647)', '2147483657'],
    ['local x = 5; return tostring(x % 0)', 'nan'],
    ['return tostring(math.abs(-2147483647 - 1))', '2147483648'],
    ['local s = ""; for i = 2147483646, 2147483649 do s = s .. i .. " " end; return s', '2147483646 2147483647 2147483648 2147483649 '],
    ['local t = {}; t[2^31] = 1; t[2147483648] = 2; return tostring(t[2^31])', '2'],
  ]);
});

test('tostring as LuaJIT: %.14g, integral floats without .0, inf and nan', async () => {
  await expectAll([
    ['return tostring(math.floor(1796425937406.7))', '1796425937406'],
    ['return tostring(7 / 2)', '3.5'],
    ['return tostring(2^53)', '9.007199254741e+15'],
    ['return tostring(1 / 0)', 'inf'],
    ['return tostring(-1 / 0)', '-inf'],
    ['return tostring(3.0)', '3'],
    ['return tostring(1e15)', '1e+15'],
    ['return tostring(1 / 3)', '0.33333333333333'],
    ['return 1.5 .. "|" .. 4 / 2', '1.5|2'],
  ]);
});

test('string.format accepts any number with %d/%x, math.random and os.date past 32 bits', async () => {
  await expectAll([
    ['return string.format("%d", 3000000000)', '3000000000'],
    ['return string.format("%d", 1024 / 4)', '256'],
    ['return string.format("%d", 1776000000123)', '1776000000123'],
    ['return string.format("%d", 3.7)', '3'],
    ['return string.format("%x|%X|%05d|%.3d|%-4d|", 4294967295, 255, 42, 7, 1)', 'ffffffff|FF|00042|007|1   |'],
    ['return string.format("%g|%g|%.14g|%5.1f|%f", 1e20, 0.5, 2^53, 3.14159, 1/0)', '1e+20|0.5|9.007199254741e+15|  3.1|inf'],
    ['local r = math.random(1, 4294967295); return tostring(r >= 1 and r <= 4294967295 and r == math.floor(r))', 'true'],
    ['return os.date("!%Y-%m-%d %H:%M:%S", 4102444800)', '2100-01-01 00:00:00'],
    ['return os.date("!%H:%M", 0)', '00:00'],
    ['return tostring(os.date("!*t", 4102444800).year)', '2100'],
    ['return ("hello"):sub(2.7)', 'ello'],
  ]);
});

test('the LuaJIT bit library: 32-bit results as LuaJIT', async () => {
  await expectAll([
    ['return tostring(bit.tobit(0xffffffff))', '-1'],
    ['return tostring(bit.tobit(2^32 + 5))', '5'],
    ['return tostring(bit.band(0xff00ff, 0xffff))', '255'],
    ['return tostring(bit.bor(1, 2, 4, 8))', '15'],
    ['return tostring(bit.bxor(0xf0f0f0f0, 0xffffffff))', '252645135'],
    ['return tostring(bit.bnot(0))', '-1'],
    ['return tostring(bit.lshift(1, 31))', '-2147483648'],
    ['return tostring(bit.lshift(1, 32))', '1'],
    ['return tostring(bit.rshift(-1, 28))', '15'],
    ['return tostring(bit.arshift(-256, 4))', '-16'],
    ['return tostring(bit.rol(0x12345678, 12))', '1164411171'],
    ['return tostring(bit.ror(0x12345678, 12))', '1736516421'],
    ['return bit.tohex(bit.bswap(0x12345678))', '78563412'],
    ['return bit.tohex(1)', '00000001'],
    ['return bit.tohex(-1, -4)', 'FFFF'],
    ['return bit.tohex(0xffffffff + 1)', '00000000'],
    ['return tostring(require("bit") == bit)', 'true'],
  ]);
});
