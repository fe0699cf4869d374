// Relay benchmark, publisher process: connects, publishes, and on `go` sends a synthetic live stream in real
// time (one batch per video frame, scheduled on the wall clock so that timer drift does not lower the rate).
// IPC: parent → { cmd: 'go', seconds } | { cmd: 'stop' }; child → { ready: true } | { sent: PublisherReport }.
import { NetConnection } from '../../src/client/index.ts';
import { encodeData } from '../../src/flash/tc.ts';
import { AAC_SEQUENCE_HEADER, AVC_SEQUENCE_HEADER, FPS, SyntheticStream } from './relay-media.ts';

export interface PublisherReport {
  messages: number;
  bytes: number;
  packetsOut: number;
  packetsIn: number;
  seconds: number;
}

const [url, name, kbps] = process.argv.slice(2) as [string, string, string];
const nc = await NetConnection.connect(url);
const stream = await nc.createNetStream();
const started = stream.waitStatus('NetStream.Publish.Start');
stream.publish(name);
await started;
const metadata = encodeData('onMetaData', [{ width: 640, height: 360, videocodecid: 7, audiocodecid: 10, framerate: FPS }], {
  amf0Only: true,
});
const setDataFrame = encodeData('@setDataFrame', [], { amf0Only: true });
const body = new Uint8Array(setDataFrame.length - 6 + metadata.length - 6);
body.set(setDataFrame.subarray(6));
body.set(metadata.subarray(6), setDataFrame.length - 6);
stream.sendDataMessage(0x12, body);
stream.sendVideo(0, AVC_SEQUENCE_HEADER);
stream.sendAudio(0, AAC_SEQUENCE_HEADER);
process.send!({ ready: true });

// one stream across runs (a warm-up, then the measured run): timestamps go on where the previous run stopped
const media = new SyntheticStream(Number(kbps));
let streamTime = 0;

async function run(seconds: number): Promise<PublisherReport> {
  const origin = streamTime;
  const session = nc.session!;
  const before = { out: session.stats.packetsOut, in: session.stats.packetsIn };
  const start = Date.now();
  let messages = 0;
  let bytes = 0;
  for (let frame = 1; frame <= seconds * FPS; frame++) {
    streamTime = origin + (frame * 1000) / FPS;
    for (const tag of media.next(streamTime)) {
      if (tag.type === 0x08) stream.sendAudio(tag.time, tag.data);
      else stream.sendVideo(tag.time, tag.data);
      messages++;
      bytes += tag.data.length;
    }
    const due = start + (frame * 1000) / FPS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
  return {
    messages,
    bytes,
    packetsOut: session.stats.packetsOut - before.out,
    packetsIn: session.stats.packetsIn - before.in,
    seconds: (Date.now() - start) / 1000,
  };
}

process.on('message', (m) => {
  const message = m as { cmd: string; seconds?: number };
  if (message.cmd === 'go') void run(message.seconds ?? 10).then((sent) => process.send!({ sent }));
  else if (message.cmd === 'stop') {
    nc.destroy('bench over');
    process.exit(0);
  }
});
