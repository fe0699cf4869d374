// Child process of data.test.ts: runs a host on argv[2] (www folder), then either writes
// (argv[3] = "write") and waits to be killed, or reads back and prints what it found.
import { FakeClient, FakeServer, captureLogger } from './harness.ts';
import { LuaApplicationHost } from '../../src/app/host.ts';

const [www, mode] = process.argv.slice(2);
const host = new LuaApplicationHost({ wwwDir: www!, logger: captureLogger(), server: new FakeServer() });
host.start();
const c = new FakeClient('store');
host.onConnection(c, []);
const call = (name: string, ...args: unknown[]) => host.onCall(c, name, 1, args as never[]);
if (mode === 'write') {
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
