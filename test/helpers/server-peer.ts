// A raw server-link peer for tests: a TCP socket speaking the MonaServer server protocol through the same
// frame codec as Nimbus (src/servers/wire.ts), collecting every frame it receives.
import { connect, type Socket } from 'node:net';
import { FrameReader, ReceivingRefs, SendingRefs, encodeHello, encodeReject, type Frame } from '../../src/servers/wire.ts';

export class RawServerPeer {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly reader = new FrameReader(64 * 1024 * 1024);
  private readonly receiving = new ReceivingRefs();
  private readonly sending = new SendingRefs();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.reader.push(chunk)) this.frames.push(this.receiving.decode(body));
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawServerPeer> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawServerPeer(socket);
  }

  hello(pairs: Array<[string, string]>): void {
    this.socket.write(encodeHello(pairs));
  }

  reject(text: string): void {
    this.socket.write(encodeReject(text));
  }

  send(handler: string, payload: Uint8Array): void {
    this.socket.write(this.sending.frame(new TextEncoder().encode(handler), payload));
  }

  raw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first frame (from `from` on) matching, waiting for it. */
  async next(match: (f: Frame) => boolean, timeoutMs = 5_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`closed before the frame came (${JSON.stringify(this.frames.map((f) => f.kind))})`);
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<number> {
    const start = Date.now();
    while (!this.closed) {
      if (Date.now() - start > timeoutMs) throw new Error('still open');
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - start;
  }

  close(): void {
    this.socket.destroy();
  }
}

export const message = (handler: string) => (f: Frame) => f.kind === 'message' && f.handler === handler;
