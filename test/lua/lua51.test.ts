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
import { CallError, NetConnection } from '../../src/client/index.ts';
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

test('tables: arrays iterate in index order before the other keys, however filled; # and select("#") with nils', async () => {
  await expectAll([
    ['local s = ""; for k, v in pairs({"a", "b", "c"}) do s = s .. k .. v end; return s', '1a2b3c'],
    ['local s = ""; for k in pairs({10, 20, 30, {}, "e"}) do s = s .. tostring(k) .. " " end; return s', '1 2 3 4 5 '],
    ['local t = {}; for i = 1, 5 do t[#t + 1] = i end; local s = ""; for k in pairs(t) do s = s .. k end; return s', '12345'],
    ['local s = ""; for k in pairs({x = 1, 10, 20, 30}) do s = s .. tostring(k) .. " " end; return s', '1 2 3 x '],
    ['local t = {}; for i = 5, 1, -1 do t[i] = i end; local s = ""; for k in pairs(t) do s = s .. k end; return s', '12345'],
    ['local t = {}; t[3] = 3; t.a = 1; t[2] = 2; t[1] = 1; local s = ""; for k in pairs(t) do s = s .. k end; return s', '123a'],
    ['return tostring(#{1, nil, 3})', '3'],
    ['return tostring(select("#", 1, nil, nil))', '3'],
    ['return tostring(table.pack(1, nil, 3).n)', '3'],
    // LuaJIT's # finds the border of the array part the constructor sized first (lj_tab_len)
    ['return tostring(#{nil, nil, 3})', '3'],
    ['return tostring(#{nil, nil})', '0'],
    ['return tostring(#{1, 2, nil})', '2'],
    ['local t = {1, 2, 3}; t[2] = nil; return tostring(#t)', '3'],
    ['local t = {1, 2, 3}; t[3] = nil; return tostring(#t)', '2'],
    ['local function f(...) return #{...} .. " " .. select("#", ...) end; return f(nil, nil, 3)', '3 3'],
    ['local function f(...) return #{...} .. " " .. select("#", ...) end; return f(1, nil, nil)', '1 3'],
    ['local p = table.pack(nil, nil, 3); return #p .. " " .. p.n', '3 3'],
  ]);
});

test('Lua 5.3 additions are absent as under LuaJIT: operators fail to compile, no integer subtype to see', async () => {
  await expectAll([
    ['return tostring(math.type) .. tostring(math.tointeger) .. tostring(math.ult) .. tostring(math.maxinteger)', 'nilnilnilnil'],
    ['return tostring(utf8) .. tostring(package.loaded.utf8) .. tostring(string.pack) .. tostring(string.unpack)', 'nilnilnilnil'],
    [
      'return tostring(3 / 1) .. " " .. tostring(2^53) .. " " .. tostring(math.floor(3.7)) .. " " .. tostring(7 % 2.5)',
      '3 9.007199254741e+15 3 2',
    ],
    ['return tostring(3 == 3.0) .. " " .. tostring(({[1] = "a"})[1.0])', 'true a'],
  ]);
  // LuaJIT's lexer has no '//', '<<', '>>' tokens and no '&', '|', '~' operators: each is a syntax error
  for (const [code, near] of [
    ['return 7 // 2', "unexpected symbol near '/'"],
    ['return 1 << 2', "unexpected symbol near '<'"],
    ['return 4 >> 1', "unexpected symbol near '>'"],
    ['return ~5', "unexpected symbol near '~'"],
    ['return 3 & 1', "expected near '&'"],
    ['return 3 | 1', "expected near '|'"],
    ['return 3 ~ 1', "expected near '~'"],
    ['local x = 1; x = x // 2', "unexpected symbol near '/'"],
  ] as [string, string][]) {
    const result = await evalLua(`local f, err = loadstring(${JSON.stringify(code)}); return tostring(f) .. " " .. tostring(err)`);
    assert.equal(typeof result, 'string');
    assert.ok((result as string).startsWith('nil '), `${code}: ${String(result)}`);
    assert.ok((result as string).includes(near), `${code}: ${String(result)}`);
  }
  // what stays valid: ~=, <=, >=, '//' in strings and comments, a..b
  await expectAll([['return tostring(1 ~= 2) .. tostring(1 <= 2) .. tostring(2 >= 1) .. "a//b" -- x // y << z', 'truetruetruea//b']]);
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
    [
      'return type(collectgarbage("count")) .. " " .. tostring(collectgarbage()) .. " " .. tostring(collectgarbage("collect"))',
      'number 0 0',
    ],
    ['return tostring(collectgarbage("step"))', 'true'],
    ['return tostring(getfenv(1) == getfenv() and getfenv(0) == _G)', 'true'],
    ['x51 = "app"; local function f() return x51 end; setfenv(f, {x51 = "mine"}); return f() .. " " .. x51', 'mine app'],
    [
      'local t = setmetatable({}, {__index = _G}); local f = loadstring("y51 = 5; return y51"); setfenv(f, t); f(); return tostring(t.y51) .. " " .. tostring(rawget(_G, "y51"))',
      '5 nil',
    ],
    ['return tostring(getfenv(print) == _G)', 'true'],
  ]);
});

test('io.open reads and writes inside the application folder and data/, and refuses anything else', async () => {
  await expectAll([
    ['local f = assert(io.open("data.txt", "rb")); local s = f:read("*a"); f:close(); return s', 'first line\nsecond line\n42 3.5\n'],
    [
      'local f = assert(io.open("data.txt")); local a, b = f:read("*l", "*l"); local n, m = f:read("*n", "*n"); return a .. "|" .. b .. "|" .. n .. "|" .. m .. "|" .. tostring(f:read("*l")) .. "|" .. tostring(f:read("*l"))',
      'first line|second line|42|3.5||nil',
    ],
    ['local s = ""; for l in io.lines("data.txt") do s = s .. l .. ";" end; return s', 'first line;second line;42 3.5;'],
    ['local f = io.open("data.txt"); local s = ""; for l in f:lines() do s = s .. #l .. "," end; f:close(); return s', '10,11,6,'],
    [
      'local f = io.open("data.txt"); f:seek("set", 6); local s = f:read(4); local size = f:seek("end"); f:close(); return s .. " " .. size',
      'line 30',
    ],
    [
      'local f = assert(io.open("out.txt", "w")); f:write("a", 1, "\\n"); f:write("b"); f:close(); f = io.open("out.txt", "a"); f:write("c"); f:close(); return io.open("out.txt"):read("*a")',
      'a1\nbc',
    ],
    [
      'local f = assert(io.open("../data/note.txt", "wb")); f:write("kept"); f:close(); return io.open("../data/note.txt", "rb"):read("*a")',
      'kept',
    ],
    ['return io.type(io.open("data.txt")) .. " " .. tostring(io.type(42))', 'file nil'],
    [
      'local f, err = io.open("../secret.lua"); return tostring(f) .. " " .. tostring(err:find("access denied", 1, true) ~= nil)',
      'nil true',
    ],
    [
      'local f, err = io.open("/etc/hostname"); return tostring(f) .. " " .. tostring(err:find("access denied", 1, true) ~= nil)',
      'nil true',
    ],
    ['local f, err = io.open("missing.txt"); return tostring(f) .. " " .. err', 'nil missing.txt: No such file or directory'],
    [
      'local ok, err = pcall(io.lines, "../secret.lua"); return tostring(ok) .. " " .. tostring(err:find("access denied", 1, true) ~= nil)',
      'false true',
    ],
  ]);
  const child = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/child`);
  try {
    const [text] = await child.call('eval', 'return io.open("local.txt"):read("*l") .. "|" .. io.open("../data.txt"):read("*l")');
    assert.equal(text, 'child data|first line');
  } finally {
    await child.close();
  }
});

test('dofile, loadfile and require, the stock ones in _G included, never leave the applications folder', async () => {
  await expectAll([
    ['local ok, err = pcall(dofile, "../secret.lua"); return tostring(ok)', 'false'],
    ['local ok, err = pcall(_G.dofile, "../secret.lua"); return tostring(ok) .. " " .. err', 'false cannot open ../secret.lua'],
    ['return tostring((_G.loadfile("/etc/hostname")))', 'nil'],
    ['return tostring((_G.loadfile("../secret.lua")))', 'nil'],
    ['local ok = pcall(_G.require, "secret"); return tostring(ok)', 'false'],
    ['return tostring(package.searchers[2]) .. " " .. tostring((package.searchpath("secret", "../?.lua")))', 'nil nil'],
    ['return _G.loadfile("main.lua") ~= nil and "loaded" or "not"', 'loaded'],
    ['local r, err = os.remove("../secret.lua"); return tostring(r) .. " " .. (err:match("access denied") or err)', 'nil access denied'],
  ]);
});

test('os.execute, io.popen, package.loadlib and os.exit are disabled unless [application] unsafe=true', async () => {
  for (const name of ['os.execute', 'io.popen', 'package.loadlib', 'os.exit']) {
    const [text] = await nc.call('eval', `local ok, err = pcall(${name}, "true"); return tostring(ok) .. " " .. err`);
    assert.match(String(text), new RegExp(`^false .*${name.replace('.', '\\.')} is disabled \\(set \\[application\\] unsafe=true`), name);
  }
  const unsafeDir = mkdtempSync(join(tmpdir(), 'nimbus-lua51-unsafe-'));
  cpSync(FIXTURE, unsafeDir, { recursive: true });
  const unsafe = await startTestServer({ dir: unsafeDir, args: ['--application.unsafe=true'] });
  const client = await NetConnection.connect(`rtmfp://127.0.0.1:${unsafe.port}/`);
  try {
    const [text] = await client.call('eval', 'local ok, err = pcall(os.execute); return tostring(ok)');
    assert.equal(text, 'true');
  } finally {
    await client.close();
    await unsafe.close();
    rmSync(unsafeDir, { recursive: true, force: true });
  }
});

test('print, io.write and io.stdout go to the logger, never raw to stdout', async () => {
  const write = process.stdout.write;
  const raw: string[] = [];
  // recorded and passed on: the test runner reports on stdout too
  process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]) => {
    raw.push(String(chunk));
    return write.call(process.stdout, chunk, ...rest);
  };
  try {
    const [text] = await nc.call(
      'eval',
      'print("lua51-p"); io.write("lua51-w", 1, "\\n"); io.stdout:write("lua51-s"); io.stderr:write("lua51-e"); return tostring(io.write("lua51-x") == io.stdout)',
    );
    assert.equal(text, 'true');
  } finally {
    process.stdout.write = write;
  }
  // only the script's own text counts
  assert.deepEqual(
    raw.filter((chunk) => chunk.includes('lua51-')),
    [],
  );
});

/** A scratch server of the fixture with extra arguments, closed and removed afterwards. */
async function withServer(args: string[], body: (connect: () => Promise<NetConnection>) => Promise<void>): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'nimbus-lua51-'));
  cpSync(FIXTURE, scratch, { recursive: true });
  const started = await startTestServer({ dir: scratch, args });
  const clients: NetConnection[] = [];
  try {
    await body(async () => {
      const client = await NetConnection.connect(`rtmfp://127.0.0.1:${started.port}/`);
      clients.push(client);
      return client;
    });
  } finally {
    for (const client of clients) if (client.connected) await client.close();
    await started.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

test('[application] scriptTimeout aborts an endless event with "script timeout"; the server goes on', async () => {
  await withServer(['--application.scriptTimeout=1'], async (connect) => {
    const client = await connect();
    const other = await connect();
    for (const fn of ['loopForever', 'loopInPcall']) {
      const started = Date.now();
      await assert.rejects(client.call('eval', `${fn}()`), (e: Error) => /script timeout/.test(e.message), fn);
      assert.ok(Date.now() - started < 5000, `${fn} stopped in time`);
    }
    assert.equal((await other.call('eval', 'return "still serving"'))[0], 'still serving');
    assert.equal((await client.call('eval', 'local n = 0; for i = 1, 1000 do n = n + i end; return tostring(n)'))[0], '500500');
  });
});

test('a coroutine the host resumes later (a DNS answer) runs under scriptTimeout too', async () => {
  await withServer(['--application.scriptTimeout=1'], async (connect) => {
    const client = await connect();
    const started = Date.now();
    const [state] = await client.call(
      'eval',
      `dnsCo = coroutine.create(function()
         mona:createIPAddressWithDNS("localhost")
         dnsResumed = true
         local t0 = os.clock()
         while os.clock() - t0 < 4 do end -- longer than the budget: aborted at 1 s
         dnsFinished = true
       end)
       coroutine.resume(dnsCo)
       return coroutine.status(dnsCo)`,
    );
    assert.equal(state, 'suspended');
    for (let i = 0; i < 100; i++) {
      const [resumed] = await client.call('eval', 'return dnsResumed == true');
      if (resumed) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [status, resumed, finished] = await client.call(
      'eval',
      'return coroutine.status(dnsCo), dnsResumed == true, dnsFinished == true',
    );
    assert.deepEqual([status, resumed, finished], ['dead', true, false], 'resumed, then aborted by the budget');
    assert.ok(Date.now() - started < 3_500, `aborted in time: ${Date.now() - started} ms`);
    assert.equal((await client.call('eval', 'return "still serving"'))[0], 'still serving');
  });
});

test('[application] scriptMemory aborts an endless allocation with "not enough memory"; the server goes on', async () => {
  await withServer(['--application.scriptTimeout=60', '--application.scriptMemory=32'], async (connect) => {
    const client = await connect();
    await assert.rejects(client.call('eval', 'allocateForever()'), (e: Error) => /not enough memory/.test(e.message));
    assert.equal((await client.call('eval', 'return "still serving"'))[0], 'still serving');
  });
});

test("a call with transaction id 0 is answered; a missing method fails with MonaServer's message", async () => {
  assert.deepEqual(await nc.callZero('eval', 'return "zero"'), ['zero']);
  await assert.rejects(nc.callZero('eval', 'error("boom", 0)'), (e: unknown) => e instanceof CallError && e.message === 'boom');
  await assert.rejects(
    nc.call('nothere'),
    (e: unknown) =>
      e instanceof CallError &&
      e.status === 'NetConnection.Call.Failed' &&
      e.message === "Method client 'nothere' not found in application ",
  );
  const child = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/child`);
  try {
    await assert.rejects(
      child.call('nothere'),
      (e: unknown) => e instanceof CallError && e.message === "Method client 'nothere' not found in application /child",
    );
  } finally {
    await child.close();
  }
});

test('a folder that does not exist is InvalidApp; a main.lua that fails to compile refuses connections (fail closed)', async () => {
  await assert.rejects(NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/nowhere/else`, { timeoutMs: 5000 }), (e: unknown) => {
    assert.ok(e instanceof CallError);
    assert.equal(e.status, 'NetConnection.Connect.InvalidApp');
    assert.equal(e.message, "Application /nowhere/else doesn't exist");
    return true;
  });
  await assert.rejects(NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/broken`, { timeoutMs: 5000 }), (e: unknown) => {
    assert.ok(e instanceof CallError);
    assert.equal(e.status, 'NetConnection.Connect.Rejected');
    assert.match(e.message, /broken\/main\.lua:2:/);
    return true;
  });
});

test('API details: empty table is an empty Array, methods named like properties, "" urls, stable children() wrappers', async () => {
  assert.deepEqual(await nc.call('eval', 'return {}'), [[]]);
  assert.deepEqual(await nc.call('eval', 'return {{}, {a = {}}}'), [[[], { a: [] }]]);
  // a method named like a property: accepted and called by the RPC (client:ping())
  await nc.call('eval', 'local c = mona.clients[1]; function c:ping() return "pong" end; function c:id() return "mine" end');
  assert.deepEqual(await nc.call('ping'), ['pong']);
  assert.deepEqual(await nc.call('id'), ['mine']);
  await assert.rejects(nc.call('eval', 'mona.clients[1].path = "x"'), /'path' is read-only/);
  assert.deepEqual(
    await nc.call(
      'eval',
      'local c = mona.clients[1]; return type(c.pageUrl) .. ":" .. c.pageUrl .. ":" .. type(c.swfUrl) .. ":" .. type(c.flashVersion)',
    ),
    ['string::string:string'],
  );
  assert.deepEqual(
    await nc.call(
      'eval',
      'local a, b = children("child"), children("child"); return tostring(a.onConnection == b.onConnection) .. " " .. type(a.onConnection)',
    ),
    ['true function'],
  );
});

test("UDP sockets: bind returns nothing or an error message (the Sockets page), MonaServer's onPacket fires as Cumulus's onReception", async () => {
  const [bound, address] = await nc.call(
    'eval',
    `
    packets = {}
    local s = mona:createUDPSocket()
    function s:onPacket(data, address) packets[#packets + 1] = data end
    udp51 = s
    local ok = s:bind("127.0.0.1:0")
    local bad = mona:createUDPSocket():bind("nowhere")
    return tostring(ok) .. " " .. tostring(bad), s.address`,
  );
  assert.equal(bound, 'nil invalid address nowhere');
  const { createSocket } = await import('node:dgram');
  const sender = createSocket('udp4');
  try {
    let port = typeof address === 'string' ? Number(address.split(':')[1]) : 0;
    for (let i = 0; !(port > 0) && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const [now] = await nc.call('eval', 'return udp51.address');
      port = typeof now === 'string' ? Number(now.split(':')[1]) : 0;
    }
    for (let i = 0; i < 100; i++) {
      sender.send('hello', port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 10));
      if ((await nc.call('eval', 'return packets[1]'))[0] === 'hello') break;
    }
    assert.deepEqual(await nc.call('eval', 'udp51:close(); return packets[1]'), ['hello']);
  } finally {
    sender.close();
  }
});

test('publications: pairs(listeners) yields client -> listener, listener.e reads the play query, PublishNotify for a late player', async () => {
  const publisher = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
  const player = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
  try {
    const out = await publisher.createNetStream();
    const published = out.waitStatus('NetStream.Publish.Start');
    out.publish('live51');
    await published;
    const stream = await player.createNetStream();
    const statuses: string[] = [];
    stream.on('status', (info) => statuses.push(String(info.code)));
    const notified = stream.waitStatus('NetStream.Play.PublishNotify');
    stream.play('live51?e=42');
    await notified;
    assert.deepEqual(statuses.slice(0, 3), ['NetStream.Play.Reset', 'NetStream.Play.Start', 'NetStream.Play.PublishNotify']);
    assert.deepEqual(await nc.call('eval', 'return subscribed[#subscribed]'), ['42']);
    const [seen] = await nc.call(
      'eval',
      `
      local p, seen = mona.publications("live51"), {}
      for who, l in pairs(p.listeners) do
        seen[#seen + 1] = type(who.id) .. ":" .. tostring(l.client == who) .. ":" .. tostring(p.listeners[who] == l) .. ":" .. tostring(l.e)
      end
      return table.concat(seen, ",")`,
    );
    assert.equal(seen, 'string:true:true:42');
  } finally {
    await player.close();
    await publisher.close();
  }
});

test("MonaServer's data/ folder is imported on first start: an existing deployment keeps its data", async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'nimbus-lua51-mona-data-'));
  cpSync(FIXTURE, scratch, { recursive: true });
  const { createHash } = await import('node:crypto');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const put = (path: string, value: string): void => {
    const folder = join(scratch, 'data', ...path.split('/'));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, createHash('md5').update(value).digest('hex')), value);
  };
  put('score', '12');
  put('users/bob', 'x y');
  put('flag', 'true');
  put('child/seen', 'yes');
  // a file whose name is not its MD5 was a bad write for MonaServer: skipped
  mkdirSync(join(scratch, 'data', 'broken'), { recursive: true });
  writeFileSync(join(scratch, 'data', 'broken', '0123456789abcdef0123456789abcdef'), 'nope');
  const started = await startTestServer({ dir: scratch });
  const client = await NetConnection.connect(`rtmfp://127.0.0.1:${started.port}/`);
  const child = await NetConnection.connect(`rtmfp://127.0.0.1:${started.port}/child`);
  try {
    assert.deepEqual(
      await client.call('eval', 'return data.score .. "|" .. data.users.bob .. "|" .. tostring(data.flag) .. "|" .. tostring(data.broken)'),
      ['12|x y|true|nil'],
    );
    assert.deepEqual(await child.call('eval', 'return data.seen'), ['yes']);
  } finally {
    await client.close();
    await child.close();
    await started.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
