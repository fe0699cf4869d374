// Publisher and player clients over real UDP for stream tests.
import { NetConnection } from '../../src/client/index.ts';
import type { NetStream } from '../../src/client/net-stream.ts';
import type { FLVTag } from '../../src/core/media/media.ts';
import type { AMFValue } from '../../src/flash/amf/types.ts';

export interface Received {
  type: number;
  time: number;
  data: Uint8Array;
}

export interface Player {
  nc: NetConnection;
  stream: NetStream;
  media: Received[];
  data: Array<{ name: string; args: AMFValue[] }>;
  statuses: string[];
}

export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function connect(port: number): Promise<NetConnection> {
  return NetConnection.connect(`rtmfp://127.0.0.1:${port}/live`);
}

export async function publisher(port: number, name: string): Promise<{ nc: NetConnection; stream: NetStream }> {
  const nc = await connect(port);
  const stream = await nc.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish(name);
  await started;
  return { nc, stream };
}

export async function player(port: number, name: string, start?: number): Promise<Player> {
  const nc = await connect(port);
  const stream = await nc.createNetStream();
  const p: Player = { nc, stream, media: [], data: [], statuses: [] };
  stream.on('audio', (time, data) => p.media.push({ type: 8, time, data: data.slice() }));
  stream.on('video', (time, data) => p.media.push({ type: 9, time, data: data.slice() }));
  stream.on('data', (name, args) => p.data.push({ name, args }));
  stream.on('status', (info) => p.statuses.push(String(info.code)));
  const started = stream.waitStatus('NetStream.Play.Start');
  stream.play(name, start);
  await started;
  return p;
}

/** Send FLV tags as a publisher does: script data as @setDataFrame, audio and video on their flows. */
export function sendTags(stream: NetStream, tags: readonly FLVTag[]): void {
  for (const tag of tags) {
    if (tag.type === 0x08) stream.sendAudio(tag.time, tag.data);
    else if (tag.type === 0x09) stream.sendVideo(tag.time, tag.data);
    else if (tag.type === 0x12) {
      const prefix = Uint8Array.of(0x02, 0x00, 0x0d, ...new TextEncoder().encode('@setDataFrame'));
      const body = new Uint8Array(prefix.length + tag.data.length);
      body.set(prefix);
      body.set(tag.data, prefix.length);
      stream.sendDataMessage(0x12, body);
    }
  }
}

export function split(received: readonly Received[], type: number): Received[] {
  return received.filter((m) => m.type === type);
}
