// One server link: a TCP connection speaking MonaServer v1's server protocol (wire.ts), in either role. A link
// this server dialled is a target (it sends its hello first); one accepted on [servers] port is an initiator
// (it answers the peer's hello with its own, MonaServer-behaviour.md §1.4). The actor (machines/server-link.ts)
// holds the lifecycle; frames are handled here.
import type { Socket } from 'node:net';
import { createActor, type Actor } from 'xstate';
import { serverLinkMachine } from '../../machines/server-link.ts';
import { Bindings } from '../actors/bindings.ts';
import { observe, provideFacts } from '../actors/observe.ts';
import { WireError, errorCode } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { channels } from '../core/diagnostics.ts';
import type { PeerServerPort, ProtocolName } from '../core/ports.ts';
import { FrameReader, ReceivingRefs, SendingRefs, encodeHello, encodeReject, type Frame } from './wire.ts';
import {
  APPS_HANDLER,
  GREETING_TIMEOUT_MS,
  KEEPALIVE_MS,
  MAX_FRAME_BYTES,
  MAX_HANDLER_BYTES,
  MAX_HELLO_BYTES,
  MAX_PENDING_BYTES,
  NIMBUS_KEY,
  PING_HANDLER,
  PING_INTERVAL_MS,
  SILENCE_TIMEOUT_MS,
} from './params.ts';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** What a link needs from the registry that owns it (servers.ts). */
export interface LinkOwner {
  readonly logger: Logger;
  readonly clock: Clock;
  /** this server's hello pairs (configuration, public addresses) */
  helloPairs(link: ServerLink): Array<readonly [string, string]>;
  /** an initiator's hello arrived: undefined admits it, a text rejects it */
  admit(link: ServerLink): string | undefined;
  onConnected(link: ServerLink): void;
  onMessage(link: ServerLink, handler: string, payload: Uint8Array): void;
  /** the link is gone; `wasConnected` when onConnected had run */
  onClosed(link: ServerLink, error: string | undefined, wasConnected: boolean): void;
}

export interface LinkOptions {
  isTarget: boolean;
  /** this side's properties for the link: a target's query in [servers] targets */
  properties?: ReadonlyMap<string, string>;
}

let nextId = 1;

export class ServerLink implements PeerServerPort {
  readonly id = nextId++;
  readonly address: string;
  readonly ip: string;
  readonly port: number;
  readonly isTarget: boolean;
  readonly properties: ReadonlyMap<string, string>;
  readonly actor: Actor<typeof serverLinkMachine>;
  readonly stats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  private configMap = new Map<string, string>();
  private readonly reader = new FrameReader(MAX_HELLO_BYTES);
  private readonly sending = new SendingRefs();
  private readonly receiving = new ReceivingRefs();
  private readonly key: number;
  private helloDone = false;
  private ended = false;
  /** why the link failed (socket error, malformed input, silence): what onServerDisconnection gets */
  private error: string | undefined;
  private lastHeard: number;
  private lastSent: number;
  private corked = false;

  constructor(
    private readonly owner: LinkOwner,
    private readonly socket: Socket,
    options: LinkOptions,
  ) {
    this.isTarget = options.isTarget;
    this.properties = options.properties ?? new Map();
    this.ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.port = socket.remotePort ?? 0;
    this.address = this.ip.includes(':') ? `[${this.ip}]:${this.port}` : `${this.ip}:${this.port}`;
    this.lastHeard = this.lastSent = owner.clock.now();
    this.key = linkBindings.bind(this);
    this.actor = createActor(boundMachine, { input: { key: this.key }, clock: owner.clock, ...observe('server', this.id) });
    byActor.set(this.actor, this);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(`socket error: ${error.message}`));
    socket.on('close', () => this.actor.send({ type: 'SOCKET_CLOSED' }));
    this.actor.start();
    if (this.isTarget) this.write(encodeHello(owner.helloPairs(this)));
  }

  // PeerServerPort ------------------------------------------------------------------------------------
  get connected(): boolean {
    return this.helloDone && !this.ended;
  }

  get configs(): ReadonlyMap<string, string> {
    return this.configMap;
  }

  /** The peer's `<protocol>.publicAddress`, its loopback host replaced by the link's IP (§1.6). */
  protocolAddress(protocol: ProtocolName): string | undefined {
    const value = this.configMap.get(`${protocol}.publicAddress`);
    if (!value) return undefined;
    const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(value);
    if (!m) return value;
    const host = m[1]!.replace(/^\[|\]$/g, '');
    if (!/^(127\.|::1$|localhost$|0\.0\.0\.0$)/.test(host)) return value;
    const ip = this.ip.includes(':') ? `[${this.ip}]` : this.ip;
    return m[2] ? `${ip}:${m[2]}` : ip;
  }

  send(handler: string, payload: Uint8Array): void {
    if (this.ended) return;
    let name = encoder.encode(handler);
    if (name.length > MAX_HANDLER_BYTES) {
      this.owner.logger.warn({ server: this.address }, `server handler '${handler.slice(0, 40)}…' truncated to 255 bytes`);
      name = name.subarray(0, MAX_HANDLER_BYTES);
    }
    this.write(this.sending.frame(name, payload));
  }

  reject(message: string): void {
    if (this.ended) return;
    this.write(encodeReject(message));
    this.actor.send({ type: 'REJECT', reason: `rejected: ${message}` });
  }

  // ----------------------------------------------------------------------------------------------------
  /** Closes without a word (the other side sees the TCP close). */
  close(reason: string): void {
    this.actor.send({ type: 'CLOSE', reason });
  }

  /** bytes queued to the socket (the peer reads slower than we send) */
  get backlog(): number {
    return this.socket.writableLength;
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  private write(bytes: Uint8Array): void {
    if (this.ended || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
    this.lastSent = this.owner.clock.now();
    this.stats.framesOut++;
    this.stats.bytesOut += bytes.length;
    if (this.socket.writableLength > MAX_PENDING_BYTES) this.fail(`peer not reading (${this.socket.writableLength} bytes queued)`);
  }

  private onData(chunk: Uint8Array): void {
    if (this.ended) return;
    this.stats.bytesIn += chunk.length;
    this.lastHeard = this.owner.clock.now();
    let bodies: Uint8Array[];
    try {
      bodies = this.reader.push(chunk);
    } catch (error) {
      return this.malformed(error);
    }
    for (const body of bodies) {
      if (this.ended) return;
      this.stats.framesIn++;
      let frame: Frame;
      try {
        frame = this.receiving.decode(body);
      } catch (error) {
        return this.malformed(error);
      }
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    if (frame.kind === 'reject') {
      // MonaServer logs it as an error and closes; the application gets no error text (§1.3, §1.7)
      this.owner.logger.error({ server: this.address }, `Connection with ${this.address} server, ${frame.text}`);
      this.actor.send({ type: 'REJECT', reason: `rejected by the peer: ${frame.text}` });
      return;
    }
    if (frame.kind === 'hello') return this.onHello(frame.pairs);
    if (!this.helloDone) return this.malformed(new WireError('server link: a message before the hello'));
    if (frame.handler === PING_HANDLER) return;
    if (frame.handler === '') {
      this.owner.logger.error(
        { server: this.address },
        `Impossible to find the ${frame.ref} handler reference for the server ${this.address}`,
      );
      return;
    }
    if (frame.handler === APPS_HANDLER) return; // applications are loaded on first use here
    this.owner.onMessage(this, frame.handler, frame.payload);
  }

  private onHello(pairs: Array<[string, string]>): void {
    if (this.helloDone) {
      this.owner.logger.warn({ server: this.address }, `Server ${this.address} already connected (second hello ignored)`);
      return;
    }
    // own properties first, the peer's pairs over them (§1.3)
    const configs = new Map(this.properties);
    for (const [k, v] of pairs) configs.set(k, v);
    this.configMap = configs;
    if (!this.isTarget) {
      const refusal = this.owner.admit(this);
      if (refusal !== undefined) {
        this.owner.logger.warn({ server: this.address }, `server link from ${this.address} refused: ${refusal}`);
        this.write(encodeReject(refusal));
        this.actor.send({ type: 'REJECT', reason: `refused: ${refusal}` });
        return;
      }
      this.write(encodeHello(this.owner.helloPairs(this)));
    }
    this.helloDone = true;
    this.reader.limit = MAX_FRAME_BYTES;
    this.actor.send({ type: 'HELLO' });
  }

  private malformed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (channels.malformed.hasSubscribers) channels.malformed.publish({ protocol: 'RTMFP', cause: 'server-link', address: this.address });
    this.owner.logger.warn({ server: this.address, code: errorCode(error) }, `server link dropped: ${message}`);
    this.fail(message);
  }

  private fail(reason: string): void {
    if (this.ended) return;
    this.error ??= reason;
    this.actor.send({ type: 'FAIL', reason });
  }

  // actor implementations ----------------------------------------------------------------------------
  /** @internal */
  onConnectedState(): void {
    this.owner.onConnected(this);
  }

  /** @internal */
  ping(): void {
    if (!this.nimbusPeer) return;
    if (this.owner.clock.now() - this.lastSent >= PING_INTERVAL_MS / 2) this.send(PING_HANDLER, EMPTY);
  }

  /** @internal */
  silent(): boolean {
    const silent = this.nimbusPeer && this.owner.clock.now() - this.lastHeard > SILENCE_TIMEOUT_MS;
    // what onServerDisconnection gets, as for a socket error
    if (silent) this.error ??= 'peer silent (ping timeout)';
    return silent;
  }

  /** @internal */
  endSocket(): void {
    this.ended = true;
    this.socket.end();
  }

  /** @internal the greeting timed out, or the link failed without a socket error */
  destroySocket(): void {
    this.ended = true;
    this.socket.destroy();
  }

  /** @internal */
  onClosedState(reason: string): void {
    this.ended = true;
    if (!this.socket.destroyed) this.socket.destroy();
    this.sending.clear();
    this.receiving.clear();
    linkBindings.unbind(this.key);
    const wasConnected = this.helloDone;
    this.owner.logger.debug({ server: this.address, reason }, 'server link closed');
    this.owner.onClosed(this, this.error, wasConnected);
  }

  private get nimbusPeer(): boolean {
    return this.configMap.has(NIMBUS_KEY);
  }
}

const linkBindings = new Bindings<ServerLink>();
const byActor = new WeakMap<object, ServerLink>();

const boundMachine = serverLinkMachine.provide({
  actions: {
    connected: ({ context }) => linkBindings.get(context.key)?.onConnectedState(),
    ping: ({ context }) => linkBindings.get(context.key)?.ping(),
    endSocket: ({ context }) => linkBindings.get(context.key)?.endSocket(),
    destroySocket: ({ context }) => linkBindings.get(context.key)?.destroySocket(),
    closed: ({ context }) => linkBindings.get(context.key)?.onClosedState(context.reason),
  },
  guards: {
    silent: ({ context }) => linkBindings.get(context.key)?.silent() ?? true,
  },
  delays: {
    greetingTimeout: GREETING_TIMEOUT_MS,
    pingInterval: PING_INTERVAL_MS,
  },
});

provideFacts('server', (ref) => {
  const link = byActor.get(ref as object);
  if (!link) return undefined;
  return {
    label: `${link.isTarget ? 'target' : 'initiator'} ${link.address}`,
    facts: { address: link.address, role: link.isTarget ? 'target' : 'initiator', backlog: link.backlog, ...link.stats },
  };
});
