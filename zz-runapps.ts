import net from 'node:net';
import { startTestServer } from './test/helpers/server.ts';
import { NetConnection } from './src/client/index.ts';
const dir = process.argv[2]!;
const report = (name: string, ok: boolean, detail = '') => console.log(`${ok ? 'OK  ' : 'FAIL'} ${name} ${detail}`);
// the bridge app's TCP peer on localhost:5555
const received: Buffer[] = [];
let peer: net.Socket | undefined;
const tcp = net.createServer((s) => {
  peer = s;
  s.on('data', (d) => received.push(d));
});
await new Promise<void>((r) => tcp.listen(5555, '::', r));
const server = await startTestServer({ dir });
const url = (app: string) => `rtmfp://127.0.0.1:${server.port}/${app}`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  // planets
  {
    const c1 = await NetConnection.connect(url('planets'));
    const c2 = await NetConnection.connect(url('planets'));
    const news: unknown[] = [];
    c1.on('invocation', (name: string, args: unknown[]) => news.push([name, ...args]));
    const [ids1] = await c1.call('ready', 'p1');
    const [ids2] = await c2.call('ready', 'p1');
    await wait(200);
    report('planets', JSON.stringify(ids1) === '[]' && Array.isArray(ids2) && ids2.length === 1 && news.length === 1, `${JSON.stringify(ids1)} ${JSON.stringify(ids2)} ${JSON.stringify(news)}`);
    await c2.close();
    await c1.close();
  }
  // status, with a publication and a listener
  {
    const pubNc = await NetConnection.connect(url('status'));
    const pub = await pubNc.createNetStream();
    pub.publish('cam');
    await pub.waitStatus('NetStream.Publish.Start');
    const playNc = await NetConnection.connect(url('status'));
    const play = await playNc.createNetStream();
    play.play('cam');
    await play.waitStatus('NetStream.Play.Start');
    for (let i = 0; i < 20; i++) {
      pub.sendAudio(i * 20, Uint8Array.of(0xaf, 0x01, 1, 2, 3));
      pub.sendVideo(i * 20, Uint8Array.of(0x17, 0x01, 0, 0, 0, 9, 9));
    }
    await wait(300);
    const admin = await NetConnection.connect(url('status'));
    const stats = await admin.call('getStatistics', 'cam').then((r) => JSON.stringify(r), (e) => `ERR ${e}`);
    const updated = await admin.call('updateDroppedFrames', 'cam', playNc.connectInfo ? 'x' : 'x', 3).then((r) => JSON.stringify(r), (e) => `ERR ${e}`);
    report('status getStatistics', !stats.startsWith('ERR'), stats.slice(0, 600));
    report('status updateDroppedFrames', !updated.startsWith('ERR'), updated);
    await admin.close();
    await playNc.close();
    await pubNc.close();
  }
  // bridge: audio of a publication goes to the TCP peer; audio from the peer is published
  {
    await wait(300);
    report('bridge connected to its TCP peer', peer !== undefined);
    const nc = await NetConnection.connect(url('bridge'));
    const mic = await nc.createNetStream();
    mic.publish('mic');
    await mic.waitStatus('NetStream.Publish.Start');
    mic.sendAudio(1234, Uint8Array.of(0xaf, 0x01, 0x55, 0x66));
    await wait(300);
    const text = Buffer.concat(received).toString('latin1');
    report('bridge onAudioPacket → TCP', text.startsWith('01') && text.includes('001234') && text.includes('mic'), JSON.stringify(text.slice(0, 60)));
    // the peer pushes audio for stream "radio": the app publishes it
    const listener = await NetConnection.connect(url('bridge'));
    const radio = await listener.createNetStream();
    const audio: Array<[number, number]> = [];
    radio.on('audio', (time: number, data: Uint8Array) => audio.push([time, data.length]));
    const frame = (time: number) => {
      const body = Buffer.alloc(161, 0x22);
      body[0] = 0xaf;
      return Buffer.concat([Buffer.from('01' + '0209' + String(time).padStart(6, '0') + 'radio'.padEnd(36, ' '), 'latin1'), body]);
    };
    peer!.write(frame(100));
    await wait(200);
    radio.play('radio');
    const status = await radio.waitStatus(['NetStream.Play.Start', 'NetStream.Play.Failed']).then((i) => i.code);
    await wait(100);
    peer!.write(Buffer.concat([frame(120), frame(140)]));
    await wait(400);
    report('bridge TCP → cumulus:publish → player', status === 'NetStream.Play.Start' && audio.length >= 2, `${status} ${JSON.stringify(audio)}`);
    await listener.close();
    await nc.close();
  }
} finally {
  await server.close();
  peer?.destroy();
  tcp.close();
}
