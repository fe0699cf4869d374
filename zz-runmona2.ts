import { startTestServer } from './test/helpers/server.ts';
import { NetConnection } from './src/client/index.ts';
import { hex } from './src/bytes.ts';
const dir = process.argv[2]!;
const server = await startTestServer({ dir });
const base = `rtmfp://127.0.0.1:${server.port}/FunctionalTests/`;
const report = (name: string, ok: boolean, detail = '') => console.log(`${ok ? 'OK  ' : 'FAIL'} ${name} ${detail}`);
try {
  // ConnectionRejected
  try {
    const nc = await NetConnection.connect(base + 'ConnectionRejected', { timeoutMs: 5000 });
    report('ConnectionRejected', false, 'accepted');
    await nc.close();
  } catch (e) {
    report('ConnectionRejected', /Connection rejected/.test(String(e)), String(e));
  }
  // ParentFunctions
  {
    const nc = await NetConnection.connect(base + 'subapp/subsubapp');
    const [parent] = await nc.call('getNameParentApp');
    const noApp = await nc.call('getNameApp').then((r) => `answered ${JSON.stringify(r)}`, (e) => `failed: ${e}`);
    const [superParent] = await nc.call('getNameSuperParentApp');
    const [real] = await nc.call('getRealNameApp');
    report('ParentFunctions', parent === 'subapp' && superParent === 'FunctionalTests' && real === 'subsubapp' && noApp.startsWith('failed'), `${parent} ${superParent} ${real} getNameApp ${noApp}`);
    await nc.close();
  }
  // RTMFPLongQuery
  {
    const p1 = 'a'.repeat(300), p2 = 'b'.repeat(300), p3 = 'c'.repeat(300);
    const nc = await NetConnection.connect(`${base}RTMFPLongQuery/?param1=${p1}&param2=${p2}&param3=${p3}`);
    const info = nc.connectInfo as Record<string, unknown>;
    report('RTMFPLongQuery', info.answer1 === p1 && info.answer2 === p2 && info.answer3 === p3, JSON.stringify(info).slice(0, 120));
    await nc.close();
  }
  // WriterDestruction (its RTMFP half: connect, newWriter, disconnect)
  {
    const nc = await NetConnection.connect(base + 'WriterDestruction');
    await nc.close();
    const again = await NetConnection.connect(base + 'WriterDestruction');
    report('WriterDestruction (RTMFP)', again.connected);
    await again.close();
  }
  // subapp onMessage: writeMessage of the data
  {
    const nc = await NetConnection.connect(base + 'subapp');
    const r = await nc.call('onMessage', { x: 1 });
    report('subapp onMessage', true, JSON.stringify(r));
    await nc.close();
  }
  // Publications, three steps
  for (const app of ['Publications/', 'Publications/OnUnsubscribe/', 'Publications/OnSubscribe/']) {
    const c1 = await NetConnection.connect(base + app);
    const c2 = await NetConnection.connect(base + app);
    try {
      const pub = await c1.createNetStream();
      pub.publish('publication');
      await pub.waitStatus('NetStream.Publish.Start');
      pub.send('message', 'test');
      const l1 = await c1.createNetStream();
      const l2 = await c2.createNetStream();
      l1.play('publication');
      l2.play('publication');
      if (app.includes('OnSubscribe')) {
        const codes = await Promise.all([l1, l2].map((l) => l.waitStatus(['NetStream.Play.Start', 'NetStream.Play.Failed']).then((i) => i.code)));
        report(app, codes.every((c) => c === 'NetStream.Play.Failed'), codes.join(' '));
        continue;
      }
      await Promise.all([l1.waitStatus('NetStream.Play.Start'), l2.waitStatus('NetStream.Play.Start')]);
      const [r1] = (await c1.call('getPublications')) as [{ publications: string[]; listeners: string[] }];
      const ids = [hex(c1.peerId), hex(c2.peerId)].sort();
      const ok1 = r1.publications.length === 1 && r1.publications[0] === 'publication' && JSON.stringify([...r1.listeners].sort()) === JSON.stringify(ids);
      l1.close();
      l2.close();
      await new Promise((r) => setTimeout(r, 300));
      const [r2] = (await c1.call('getPublications')) as [{ publications: string[]; listeners: string[] }];
      const ok2 = r2.publications.length === 1 && r2.listeners.length === 0;
      report(app, ok1 && ok2, `${JSON.stringify(r1).slice(0, 200)} then ${JSON.stringify(r2)}`);
    } finally {
      await c1.close();
      await c2.close();
    }
  }
} finally {
  await server.close();
}
