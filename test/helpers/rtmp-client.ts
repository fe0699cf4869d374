// A tiny raw RTMP client for tests: the handshake (digest or simple), chunked messages both ways with the
// server's own ChunkReader/ChunkWriter, commands, and every message received kept for assertions. It lets
// tests see what the server sent (status codes, control messages) where ffmpeg only prints an error.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { ChunkReader, type RtmpMessage } from '../../src/protocols/rtmp/chunk-reader.ts';
import { ChunkWriter } from '../../src/protocols/rtmp/chunk-writer.ts';
import { clientC1, verifyServerAnswer } from '../../src/protocols/rtmp/handshake.ts';
import { HANDSHAKE_SIZE, MSG } from '../../src/protocols/rtmp/params.ts';
import { decodeCommand, encodeCommand, type TCCommand } from '../../src/flash/tc.ts';
import type { AMFObject, AMFValue } from '../../src/flash/amf/types.ts';

export interface RawRtmpOptions {
  port: number;
  /** send a digest C1 (Flash/ffmpeg) rather than a simple one */
  digest?: boolean;
  /** chunk size announced before connect */
  chunkSize?: number;
}

export class RawRtmpClient {
  readonly socket: net.Socket;
  readonly messages: RtmpMessage[] = [];
  readonly commands: Array<TCCommand & { streamId: number }> = [];
  /** the S1/S2 digests checked as ffmpeg's player does; undefined for a simple handshake */
  serverDigestValid: boolean | undefined;
  closed = false;
  answerPings = true;
  private readonly reader: ChunkReader;
  private readonly writer = new ChunkWriter();
  private handshake = true;
  private received: Uint8Array = new Uint8Array(0);
  private c1: Uint8Array = new Uint8Array(0);
  private nextTransaction = 1;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.reader = new ChunkReader((message) => this.onMessage(message));
    socket.on('data', (data) => this.onData(data));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async open(options: RawRtmpOptions): Promise<RawRtmpClient> {
    const socket = net.connect(options.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawRtmpClient(socket);
    await client.shake(options.digest ?? true);
    if (options.chunkSize) client.setChunkSize(options.chunkSize);
    return client;
  }

  private async shake(digest: boolean): Promise<void> {
    this.c1 = digest ? clientC1('A') : new Uint8Array(randomBytes(HANDSHAKE_SIZE)).fill(0, 0, 8);
    this.socket.write(Uint8Array.of(3, ...this.c1));
    await this.until(() => this.received.length >= 1 + 2 * HANDSHAKE_SIZE || this.closed, 'S0S1S2');
    if (this.closed) throw new Error('closed during handshake');
    const s1 = this.received.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = this.received.subarray(1 + HANDSHAKE_SIZE, 1 + 2 * HANDSHAKE_SIZE);
    if (digest) this.serverDigestValid = verifyServerAnswer(this.c1, s1, s2);
    const rest = this.received.subarray(1 + 2 * HANDSHAKE_SIZE);
    this.socket.write(s1); // C2 = S1, as ffmpeg sends it
    this.handshake = false;
    if (rest.length) this.reader.push(rest);
  }

  private onData(data: Buffer): void {
    if (this.handshake) {
      const joined = new Uint8Array(this.received.length + data.length);
      joined.set(this.received);
      joined.set(data, this.received.length);
      this.received = joined;
    } else {
      this.reader.push(data);
    }
    this.wake();
  }

  private onMessage(message: RtmpMessage): void {
    this.messages.push(message);
    if (message.type === MSG.SET_CHUNK_SIZE)
      this.reader.setChunkSize(new DataView(message.payload.buffer, message.payload.byteOffset).getUint32(0));
    // PingRequest answered at once, as ffmpeg and librtmp do (RTMP.md §4)
    if (message.type === MSG.USER_CONTROL && message.payload[1] === 6 && this.answerPings) {
      this.send(2, MSG.USER_CONTROL, 0, 0, Uint8Array.of(0, 7, ...message.payload.subarray(2, 6)));
    }
    if (message.type === MSG.COMMAND_AMF0 || message.type === MSG.COMMAND_AMF3) {
      this.commands.push({
        ...decodeCommand({ type: message.type, time: message.timestamp, body: message.payload }),
        streamId: message.streamId,
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  async until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(csid: number, type: number, streamId: number, timestamp: number, payload: Uint8Array): void {
    this.socket.write(this.writer.encode(csid, type, streamId, timestamp, payload));
  }

  setChunkSize(size: number): void {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, size);
    this.send(2, MSG.SET_CHUNK_SIZE, 0, 0, payload);
    this.writer.chunkSize = size;
  }

  /** A command; returns its transaction id (`transaction` 0: a call without a responder). */
  command(
    name: string,
    args: AMFValue[],
    streamId = 0,
    commandObject: AMFValue = null,
    csid = 3,
    transaction = this.nextTransaction++,
  ): number {
    const message = encodeCommand(name, transaction, commandObject, args, { amf0Only: true });
    this.send(csid, MSG.COMMAND_AMF0, streamId, 0, message.subarray(5));
    return transaction;
  }

  /** The `_result` or `_error` of a transaction. */
  async answer(transaction: number): Promise<TCCommand> {
    let found: TCCommand | undefined;
    await this.until(() => {
      found = this.commands.find((c) => (c.name === '_result' || c.name === '_error') && c.transactionId === transaction);
      return found !== undefined || this.closed;
    }, `answer to transaction ${transaction}`);
    if (!found) throw new Error(`connection closed before the answer to ${transaction}`);
    return found;
  }

  async connect(app: string, args: AMFValue[] = [], extra: AMFObject = {}): Promise<TCCommand> {
    const port = this.socket.remotePort;
    const tx = this.command('connect', args, 0, { app, tcUrl: `rtmp://127.0.0.1:${port}/${app}`, flashVer: 'LNX 9,0,124,2', ...extra });
    return this.answer(tx);
  }

  async createStream(): Promise<number> {
    const answer = await this.answer(this.command('createStream', []));
    return answer.args[0] as number;
  }

  /** The onStatus codes received on a stream, in order. */
  statuses(streamId?: number): AMFObject[] {
    return this.commands
      .filter((c) => c.name === 'onStatus' && (streamId === undefined || c.streamId === streamId))
      .map((c) => c.args[0] as AMFObject);
  }

  async status(code: RegExp | string, streamId?: number): Promise<AMFObject> {
    let found: AMFObject | undefined;
    const match = (value: AMFValue) => (typeof code === 'string' ? value === code : code.test(String(value)));
    await this.until(() => {
      found = this.statuses(streamId).find((s) => match(s.code));
      return found !== undefined;
    }, `status ${code}`);
    return found!;
  }

  media(streamId?: number): RtmpMessage[] {
    return this.messages.filter(
      (m) => (m.type === MSG.AUDIO || m.type === MSG.VIDEO) && (streamId === undefined || m.streamId === streamId),
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A TCP port free right now (listened on and released): RTMP tests pass it as --RTMP.port. */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
