import { startTestServer } from './test/helpers/server.ts';
import { NetConnection } from './src/client/index.ts';
const dir = process.argv[2]!;
const app = process.argv[3] ?? 'FunctionalTests';
const server = await startTestServer({ dir });
try {
  const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/${app}`, { timeoutMs: 10_000 });
  nc.on?.('invocation' as never, (() => {}) as never);
  const [list] = await nc.call('listTests');
  console.log('tests:', JSON.stringify(list));
  for (const [name, index] of Object.entries(list as Record<string, number>).sort((a, b) => a[1] - b[1])) {
    try {
      const [result] = await nc.call('runTest', index);
      console.log(name, JSON.stringify(result));
    } catch (e) {
      console.log(name, 'CALL FAILED', String(e));
    }
  }
  for (const args of [[1, 'two', { a: 3 }], [[]]]) console.log('onMessage', JSON.stringify(await nc.call('onMessage', ...(args as never[]))));
  await nc.close();
} finally {
  await server.close();
}
