// N raw RTMP players in one process for bench/rtmp.ts: handshake, connect, createStream, play, then count the
// media messages and bytes received (pings answered, as ffmpeg does). IPC: 'ready' once all play, 'report' on
// request, exit on 'stop'. Uses the server's own chunk codec: the players cost little next to the server.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { ChunkReader } from '../../src/protocols/rtmp/chunk-reader.ts';
import { ChunkWriter } from '../../src/protocols/rtmp/chunk-writer.ts';
import { MSG } from '../../src/protocols/rtmp/params.ts';
import { decodeCommand, encodeCommand } from '../../src/flash/tc.ts';

export interface RtmpPlayersReport {
  players: number;
  messages: number;
  /** audio and video payload bytes (chunk headers and commands not counted) */
  bytes: number;
  /** media messages per player, lowest and highest */
  minMessages: number;
  maxMessages: number;
  closed: number;
}

interface Player {
  messages: number;
  bytes: number;
  closed: boolean;
  socket: net.Socket;
}

function open(port: number, name: string, onPlaying: () => void): Player {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const player: Player = { messages: 0, bytes: 0, closed: false, socket };
  const writer = new ChunkWriter();
  const send = (csid: number, type: number, stream: number, payload: Uint8Array) =>
    socket.write(writer.encode(csid, type, stream, 0, payload));
  const command = (
    name: string,
    tx: number,
    args: Parameters<typeof encodeCommand>[3],
    stream = 0,
    object: Parameters<typeof encodeCommand>[2] = null,
  ) => send(stream ? 8 : 3, MSG.COMMAND_AMF0, stream, encodeCommand(name, tx, object, args, { amf0Only: true }).subarray(5));
  let handshake = 0;
  let playing = false;
  const reader = new ChunkReader((message) => {
    if (message.type === MSG.AUDIO || message.type === MSG.VIDEO) {
      // media payload bytes, as bench/relay.ts counts what RTMFP players receive
      player.messages++;
      player.bytes += message.payload.length;
      return;
    }
    if (message.type === MSG.SET_CHUNK_SIZE)
      reader.setChunkSize(new DataView(message.payload.buffer, message.payload.byteOffset).getUint32(0));
    else if (message.type === MSG.USER_CONTROL && message.payload[1] === 6)
      send(2, MSG.USER_CONTROL, 0, Uint8Array.of(0, 7, ...message.payload.subarray(2, 6)));
    else if (message.type === MSG.COMMAND_AMF0) {
      const c = decodeCommand({ type: message.type, time: 0, body: message.payload });
      if (c.name === '_result' && c.transactionId === 1) command('createStream', 2, []);
      else if (c.name === '_result' && c.transactionId === 2) command('play', 3, [name, -1000], c.args[0] as number);
      else if (c.name === 'onStatus' && !playing && (c.args[0] as { code?: string })?.code === 'NetStream.Play.Start') {
        playing = true;
        onPlaying();
      }
    }
  });
  socket.on('connect', () => socket.write(Uint8Array.of(3, ...new Uint8Array(randomBytes(1536)).fill(0, 0, 8))));
  socket.on('data', (data: Buffer) => {
    let rest: Uint8Array = data;
    if (handshake < 3073) {
      const take = Math.min(3073 - handshake, data.length);
      handshake += take;
      rest = data.subarray(take);
      if (handshake === 3073) {
        socket.write(new Uint8Array(1536)); // C2
        command('connect', 1, [], 0, { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live`, flashVer: 'LNX 9,0,124,2' });
      }
    }
    if (rest.length) reader.push(rest);
  });
  socket.on('close', () => (player.closed = true));
  socket.on('error', () => {});
  return player;
}

async function main(): Promise<void> {
  const [portText, name, countText] = process.argv.slice(2);
  const port = Number(portText);
  const count = Number(countText);
  const players: Player[] = [];
  let ready = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) players.push(open(port, name!, () => ++ready === count && resolve()));
  });
  process.send!({ ready: true });
  process.on('message', (m) => {
    const cmd = (m as { cmd: string }).cmd;
    if (cmd === 'report') {
      const counts = players.map((p) => p.messages);
      const report: RtmpPlayersReport = {
        players: players.length,
        messages: counts.reduce((a, b) => a + b, 0),
        bytes: players.reduce((a, p) => a + p.bytes, 0),
        minMessages: Math.min(...counts),
        maxMessages: Math.max(...counts),
        closed: players.filter((p) => p.closed).length,
      };
      process.send!({ report });
    } else if (cmd === 'stop') {
      for (const p of players) p.socket.destroy();
      process.exit(0);
    }
  });
}

await main();
