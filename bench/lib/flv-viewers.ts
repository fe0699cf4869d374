// N HTTP-FLV viewers in one process for bench/http.ts: GET /<app>/<name>.flv on its own connection each, then count
// the audio/video tag payload bytes received (what RTMP and RTMFP players count). IPC: 'ready' once every viewer has
// its 200, 'report' on request, exit on 'stop'.
import http from 'node:http';

export interface FlvViewersReport {
  viewers: number;
  messages: number;
  /** audio and video payload bytes (FLV tag headers and script data not counted) */
  bytes: number;
  minMessages: number;
  maxMessages: number;
  closed: number;
}

interface Viewer {
  messages: number;
  bytes: number;
  closed: boolean;
  req: http.ClientRequest;
}

/** Counts tags of an FLV byte stream as it arrives (header, then tag header | payload | previous size). */
function counter(viewer: Viewer): (chunk: Buffer) => void {
  let skip = 13;
  let header: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - at);
        skip -= take;
        at += take;
        continue;
      }
      const need = 11 - header.length;
      const part: Buffer = chunk.subarray(at, at + need);
      header = header.length ? Buffer.concat([header, part]) : part;
      at += part.length;
      if (header.length < 11) return;
      const type = header[0]! & 0x1f;
      const size = header.readUIntBE(1, 3);
      if (type === 8 || type === 9) {
        viewer.messages++;
        viewer.bytes += size;
      }
      skip = size + 4;
      header = Buffer.alloc(0);
    }
  };
}

const [portText, path, countText] = process.argv.slice(2) as [string, string, string];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const viewers: Viewer[] = [];
let ready = 0;
const count = Number(countText);
await new Promise<void>((resolve) => {
  for (let i = 0; i < count; i++) {
    const viewer: Viewer = { messages: 0, bytes: 0, closed: false, req: undefined as unknown as http.ClientRequest };
    viewer.req = http.get({ host: '127.0.0.1', port: Number(portText), path, agent }, (res) => {
      const count = counter(viewer);
      res.on('data', count);
      res.on('close', () => (viewer.closed = true));
      if (++ready === Number(countText)) resolve();
    });
    viewer.req.on('error', () => (viewer.closed = true));
    viewers.push(viewer);
  }
});
process.send!({ ready: true });
process.on('message', (m) => {
  const cmd = (m as { cmd: string }).cmd;
  if (cmd === 'report') {
    const counts = viewers.map((v) => v.messages);
    const report: FlvViewersReport = {
      viewers: viewers.length,
      messages: counts.reduce((a, b) => a + b, 0),
      bytes: viewers.reduce((a, v) => a + v.bytes, 0),
      minMessages: Math.min(...counts),
      maxMessages: Math.max(...counts),
      closed: viewers.filter((v) => v.closed).length,
    };
    process.send!({ report });
  } else if (cmd === 'stop') {
    for (const v of viewers) v.req.destroy();
    process.exit(0);
  }
});
