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

test('tables: constructors iterate in index order; # and select("#") with nils', async () => {
  await expectAll([
    ['local s = ""; for k, v in pairs({"a", "b", "c"}) do s = s .. k .. v end; return s', '1a2b3c'],
    ['local s = ""; for k in pairs({10, 20, 30, {}, "e"}) do s = s .. tostring(k) .. " " end; return s', '1 2 3 4 5 '],
    ['local t = {}; for i = 1, 5 do t[#t + 1] = i end; local s = ""; for k in pairs(t) do s = s .. k end; return s', '12345'],
    ['return tostring(#{1, nil, 3})', '3'],
    ['return tostring(select("#", 1, nil, nil))', '3'],
    ['return tostring(table.pack(1, nil, 3).n)', '3'],
  ]);
});

test('the Lua 5.1 globals scripts use', async () => {
  await expectAll([
    ['return table.concat({unpack({1, 2, 3})}, ",")', '1,2,3'],
    ['return loadstring("return 1 + 2")() .. ""', '3'],
    ['local f, err = loadstring("return +"); return tostring(f) .. " " .. tostring(err ~= nil)', 'nil true'],
    ['return tostring(table.getn({1, 2, 3}))', '3'],
    ['return tostring(table.maxn({1, 2, [10] = 3, x = 4}))', '10'],
    ['local s = ""; table.foreach({"a", "b"}, function(k, v) s = s .. k .. v end); return s', '1a2b'],
    ['local s = ""; table.foreachi({"a", "b"}, function(i, v) s = s .. i .. v end); return s', '1a2b'],
    ['return tostring(table.foreach({5}, function(k, v) return v * 2 end))', '10'],
    ['return tostring(math.pow(2, 10))', '1024'],
    ['return tostring(math.log10(1000))', '3'],
    ['return string.format("%.4f", math.atan2(1, 1))', '0.7854'],
    ['return tostring(math.ldexp(0.5, 4))', '8'],
    ['local m, e = math.frexp(8); return m .. " " .. e', '0.5 4'],
    ['return string.format("%.4f %.4f %.4f", math.cosh(1), math.sinh(1), math.tanh(1))', '1.5431 1.1752 0.7616'],
    ['return tostring(math.mod(7, 3))', '1'],
    ['local s = ""; for w in string.gfind("one two", "%a+") do s = s .. w .. "." end; return s', 'one.two.'],
    ['return type(collectgarbage("count")) .. " " .. tostring(collectgarbage()) .. " " .. tostring(collectgarbage("collect"))', 'number 0 0'],
    ['return tostring(collectgarbage("step"))', 'true'],
    ['return tostring(getfenv(1) == getfenv() and getfenv(0) == _G)', 'true'],
    ['x51 = "app"; local function f() return x51 end; setfenv(f, {x51 = "mine"}); return f() .. " " .. x51', 'mine app'],
    ['local t = setmetatable({}, {__index = _G}); local f = loadstring("y51 = 5; return y51"); setfenv(f, t); f(); return tostring(t.y51) .. " " .. tostring(rawget(_G, "y51"))', '5 nil'],
    ['return tostring(getfenv(print) == _G)', 'true'],
  ]);
});
