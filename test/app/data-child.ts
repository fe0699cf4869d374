// Child process of data.test.ts: runs a host on argv[2] (www folder), then either writes
// (argv[3] = "write") and waits to be killed, or reads back and prints what it found.
import { FakeClient, FakeServer, captureLogger } from './harness.ts';
import { LuaApplicationHost } from '../../src/app/host.ts';

const [www, mode, round = ''] = process.argv.slice(2);
const host = new LuaApplicationHost({ wwwDir: www!, logger: captureLogger(), server: new FakeServer() });
host.start();
const c = new FakeClient('store');
host.onConnection(c, []);
const call = (name: string, ...args: unknown[]) => host.onCall(c, name, 1, args as never[]);
if (mode === 'tables') {
  // one table of 1,000 leaves (and a subtree) assigned again and again, each time from a new generation:
  // a kill lands in the middle of one of these transactions sooner or later
  const leaves = (gen: number) => {
    const sub: Record<string, string> = {};
    const t: Record<string, unknown> = { sub };
    for (let i = 0; i < 900; i++) t[`k${i}`] = `g${gen}`;
    for (let i = 0; i < 100; i++) sub[`s${i}`] = `g${gen}`;
    return t;
  };
  let gen = 0;
  const next = () => {
    gen++;
    call('put', `${round}gen${gen}`, leaves(gen)); // a new key each time: a table over a table is refused (MonaServer)
    process.stdout.write(`gen ${gen}\n`);
    setImmediate(next);
  };
  next();
} else if (mode === 'readgen') {
  const found: Array<[number, string]> = [];
  for (let gen = 1; ; gen++) {
    const r = call('generations', `${round}gen${gen}`) as unknown as { results: [number, string] };
    if (r.results[0] === 0) break;
    found.push(r.results);
  }
  process.stdout.write(JSON.stringify(found) + '\n');
  host.stop();
} else if (mode === 'write') {
  call('put', 'count', 41);
  call('put', 'flag', true);
  call('put', 'tree', { a: 'x', b: { c: 'deep' } });
  for (let i = 0; i < 200; i++) call('put', `k${i}`, `v${i}`);
  process.stdout.write('written\n');
  setInterval(() => call('put', 'tick', Date.now()), 1); // still writing when killed
} else {
  const out = {
    count: call('get', 'count'),
    flag: call('get', 'flag'),
    deep: call('getIn', 'tree', 'b', 'c'),
    k199: call('get', 'k199'),
    len: call('len'),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  host.stop();
}
