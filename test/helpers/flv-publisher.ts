// Publishes an FLV file's tags through a NetStream of the project's RTMFP client at the pace of their timestamps,
// looping (timestamps carried on) for as long as asked: a live source for players that must see several seconds.
import type { NetStream } from '../../src/client/net-stream.ts';
import type { FLVTag } from '../../src/core/media/media.ts';

/** `@setDataFrame` before onMetaData: the publication keeps it as the metadata late viewers get first. */
function setDataFrame(body: Uint8Array): Uint8Array {
  const name = Buffer.from('@setDataFrame');
  return Buffer.concat([Buffer.from([0x02, 0, name.length]), name, body]);
}

export interface FlvPublishing {
  /** stops sending; resolves when the pacing loop ended */
  stop(): Promise<void>;
  /** tags sent so far */
  readonly sent: number;
}

export function publishFlv(stream: NetStream, tags: readonly FLVTag[], seconds: number): FlvPublishing {
  const duration = Math.max(...tags.map((tag) => tag.time)) + 40;
  const started = performance.now();
  let index = 0;
  let loop = 0;
  let sent = 0;
  let stopped = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const tick = (): void => {
    if (stopped) return finish();
    const elapsed = performance.now() - started;
    if (elapsed > seconds * 1000) return finish();
    while (elapsed >= loop * duration + tags[index]!.time) {
      const tag = tags[index]!;
      const time = loop * duration + tag.time;
      if (tag.type === 0x08) stream.sendAudio(time, tag.data);
      else if (tag.type === 0x09) stream.sendVideo(time, tag.data);
      else if (tag.type === 0x12 && loop === 0) stream.sendDataMessage(0x12, setDataFrame(tag.data));
      sent++;
      if (++index === tags.length) {
        index = 0;
        loop++;
      }
    }
    setTimeout(tick, 10);
  };
  tick();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
    get sent() {
      return sent;
    },
  };
}
