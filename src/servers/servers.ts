// The registry of server links (MonaServer's Servers): the [servers] port listener, the configured targets
// dialled and redialled, who is let in, and the application's server events. A later cluster mode opens
// links with connect(host:port) and reads `all`, the same registry the Lua `servers` object shows.
import { createServer, connect as tcpConnect, isIP, type Server, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import { serverTargetMachine } from '../../machines/server-target.ts';
import { Bindings } from '../actors/bindings.ts';
import { observe } from '../actors/observe.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ApplicationPort, ServersPort } from '../core/ports.ts';
import { ServerLink, type LinkOwner } from './link.ts';
import {
  APPS_HANDLER,
  CONNECT_TIMEOUT_MS,
  MAX_GREETING,
  MAX_GREETING_PER_ADDRESS,
  REJECT_STOPPING,
  RETRY_FIRST_MS,
  RETRY_MAX_MS,
  SECRET_KEY,
} from './params.ts';

/** One entry of [servers] targets: host:port?key=value&... */
export interface TargetSpec {
  host: string;
  port: number;
  /** the query: this side's properties of the link (server.configs, dynamic properties) */
  properties: ReadonlyMap<string, string>;
}

export interface ServersOptions {
  /** [servers] port: 0 listens nowhere (unless `listen`) */
  port: number;
  /** listen even when `port` is 0, on a port the system picks (cluster mode: nodes learn it from the directory) */
  listen?: boolean;
  /** the listener's address (MonaServer always binds the wildcard) */
  host?: string;
  targets: readonly TargetSpec[];
  /** [servers] secret: '' for none */
  secret: string;
  logger: Logger;
  clock?: Clock;
  /** the application hearing onServerConnection... (read at each event: the composition root may set it late) */
  application: () => ApplicationPort;
  /** this server's hello pairs */
  helloPairs: () => Array<readonly [string, string]>;
}

export class Servers implements ServersPort, LinkOwner {
  readonly logger: Logger;
  readonly clock: Clock;
  private readonly links = new Set<ServerLink>();
  private readonly connectedLinks: ServerLink[] = [];
  private readonly targetList: ServerTarget[] = [];
  private readonly targetOf = new Map<ServerLink, ServerTarget>();
  private readonly greeting = new Map<string, number>();
  private listener: Server | undefined;
  private stopping = false;
  private readonly secret: Buffer;

  constructor(private readonly options: ServersOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.secret = Buffer.from(options.secret);
  }

  // ServersPort ---------------------------------------------------------------------------------------
  get all(): readonly ServerLink[] {
    return this.connectedLinks;
  }

  get targets(): ServerLink[] {
    return this.connectedLinks.filter((l) => l.isTarget);
  }

  get initiators(): ServerLink[] {
    return this.connectedLinks.filter((l) => !l.isTarget);
  }

  /** the bound [servers] port, 0 when not listening */
  get port(): number {
    const address = this.listener?.address();
    return address && typeof address === 'object' ? address.port : 0;
  }

  // Lifecycle -----------------------------------------------------------------------------------------
  async start(): Promise<void> {
    if (this.options.port > 0 || this.options.listen) {
      const listener = createServer({ pauseOnConnect: false }, (socket) => this.onAccept(socket));
      listener.on('error', (error) => this.logger.warn({ err: error }, `Servers, ${error.message}`));
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
          listener.off('error', reject);
          resolve();
        });
      });
      this.listener = listener;
      this.logger.note({ port: this.port }, `Servers incoming connection on ${this.options.host ?? '0.0.0.0'}:${this.port} started`);
    }
    for (const spec of this.options.targets) this.connect(spec);
  }

  /** Every linked server gets "Server is stopping" (MonaServer's words), then sockets and targets stop. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const link of [...this.links]) {
      if (link.connected) link.reject(REJECT_STOPPING);
      else link.close('server stopping');
    }
    // after the rejects: a stopped target hangs up its link without a word
    for (const target of this.targetList) target.stop();
    const deadline = Date.now() + 2_000;
    while (this.links.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /** Dials host:port now and again after each failure or disconnection, until the server stops. */
  connect(spec: TargetSpec): ServerTarget {
    const target = new ServerTarget(this, spec);
    this.targetList.push(target);
    target.start();
    return target;
  }

  // LinkOwner -----------------------------------------------------------------------------------------
  /** The configuration pairs, then the link's own properties (MonaServer sends its target query too, §1.3). */
  helloPairs(link: ServerLink): Array<readonly [string, string]> {
    const pairs = [...this.options.helloPairs(), ...link.properties];
    // a target presents the deployment's secret (an initiator had to present it or be configured)
    if (link.isTarget && this.secret.length > 0 && !link.properties.has(SECRET_KEY)) pairs.push([SECRET_KEY, this.options.secret]);
    return pairs;
  }

  admit(link: ServerLink): string | undefined {
    if (this.stopping) return REJECT_STOPPING;
    const configured = this.options.targets.some((t) => t.host === link.ip);
    if (configured) return undefined;
    if (this.secret.length > 0) {
      const given = Buffer.from(link.configs.get(SECRET_KEY) ?? '');
      if (given.length === this.secret.length && timingSafeEqual(given, this.secret)) return undefined;
      return 'not allowed (wrong or missing secret)';
    }
    return isLoopback(link.ip) ? undefined : 'not allowed (not a configured server, and no [servers] secret is set)';
  }

  onConnected(link: ServerLink): void {
    this.ungreet(link);
    this.connectedLinks.push(link);
    this.targetOf.get(link)?.linked();
    this.logger.note({ server: link.address, isTarget: link.isTarget }, `Connection established with ${link.address} server`);
    let refusal: string | undefined;
    try {
      refusal = this.options.application().onServerConnection?.(link);
    } catch (error) {
      refusal = error instanceof Error ? error.message : String(error);
    }
    if (refusal !== undefined) {
      link.reject(refusal);
      return;
    }
    // the applications running here (MonaServer-behaviour.md §1.4): the root, as a String "" (7-bit length 0)
    link.send(APPS_HANDLER, Uint8Array.of(0));
  }

  onMessage(link: ServerLink, handler: string, payload: Uint8Array): void {
    try {
      this.options.application().onServerMessage?.(link, handler, payload);
    } catch (error) {
      this.logger.error({ err: error, server: link.address }, `server message '${handler}' failed`);
    }
  }

  onClosed(link: ServerLink, error: string | undefined, wasConnected: boolean): void {
    this.links.delete(link);
    this.ungreet(link);
    const at = this.connectedLinks.indexOf(link);
    if (at >= 0) this.connectedLinks.splice(at, 1);
    if (wasConnected) {
      if (error) this.logger.error({ server: link.address }, `Disconnection from ${link.address} server, ${error}`);
      else this.logger.note({ server: link.address }, `Disconnection from ${link.address} server`);
      try {
        this.options.application().onServerDisconnection?.(link, error);
      } catch (err) {
        this.logger.error({ err, server: link.address }, 'onServerDisconnection failed');
      }
    }
    const target = this.targetOf.get(link);
    this.targetOf.delete(link);
    target?.down();
  }

  // ----------------------------------------------------------------------------------------------------
  /** @internal a target's socket connected */
  openTarget(target: ServerTarget, socket: Socket): ServerLink {
    const link = new ServerLink(this, socket, { isTarget: true, properties: target.spec.properties });
    this.links.add(link);
    this.targetOf.set(link, target);
    return link;
  }

  private onAccept(socket: Socket): void {
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const greetingHere = this.greeting.get(ip) ?? 0;
    let total = 0;
    for (const n of this.greeting.values()) total += n;
    if (this.stopping || greetingHere >= MAX_GREETING_PER_ADDRESS || total >= MAX_GREETING) {
      this.logger.warn({ address: ip }, 'server link refused: too many connections still in their hello');
      socket.destroy();
      return;
    }
    this.greeting.set(ip, greetingHere + 1);
    const link = new ServerLink(this, socket, { isTarget: false });
    this.greetingLinks.add(link);
    this.links.add(link);
  }

  private readonly greetingLinks = new Set<ServerLink>();

  private ungreet(link: ServerLink): void {
    if (!this.greetingLinks.delete(link)) return;
    const n = (this.greeting.get(link.ip) ?? 1) - 1;
    if (n <= 0) this.greeting.delete(link.ip);
    else this.greeting.set(link.ip, n);
  }

  /** @internal */
  get isStopping(): boolean {
    return this.stopping;
  }
}

/** One configured target: its actor dials, and redials with a back-off while the peer is down. */
export class ServerTarget {
  readonly actor: Actor<typeof serverTargetMachine>;
  private readonly key: number;
  private backoff = RETRY_FIRST_MS;
  private link: ServerLink | undefined;
  private socket: Socket | undefined;
  attempts = 0;

  constructor(
    private readonly registry: Servers,
    readonly spec: TargetSpec,
  ) {
    this.key = targetBindings.bind(this);
    this.actor = createActor(boundTarget, {
      input: { key: this.key },
      clock: registry.clock,
      ...observe('server-target', `${spec.host}:${spec.port}`),
    });
  }

  get address(): string {
    return isIP(this.spec.host) === 6 ? `[${this.spec.host}]:${this.spec.port}` : `${this.spec.host}:${this.spec.port}`;
  }

  start(): void {
    this.actor.start();
  }

  stop(): void {
    this.actor.send({ type: 'STOP' });
  }

  /** @internal the hello exchange completed */
  linked(): void {
    this.actor.send({ type: 'LINKED' });
  }

  /** @internal the attempt failed or the link closed */
  down(): void {
    this.link = undefined;
    this.socket = undefined;
    this.actor.send({ type: 'DOWN' });
  }

  /** @internal */
  dial(): void {
    if (this.registry.isStopping) return;
    this.attempts++;
    this.registry.logger.info({ server: this.address }, `Attempt to join ${this.address} server`);
    const socket = tcpConnect({ host: this.spec.host, port: this.spec.port, timeout: CONNECT_TIMEOUT_MS });
    this.socket = socket;
    const failed = (why: string): void => {
      if (this.socket !== socket || this.link) return;
      socket.destroy();
      this.registry.logger.info({ server: this.address }, `ServerConnection to ${this.address}, ${why}`);
      this.down();
    };
    socket.once('timeout', () => failed('connect timeout'));
    socket.once('error', (error) => failed(error.message));
    socket.once('connect', () => {
      socket.setTimeout(0);
      if (this.socket !== socket) return socket.destroy();
      if (this.registry.isStopping) return socket.destroy();
      this.link = this.registry.openTarget(this, socket);
    });
  }

  /** @internal */
  hangUp(): void {
    targetBindings.unbind(this.key);
    if (this.link) this.link.close('server stopping');
    else this.socket?.destroy();
  }

  /** @internal the current back-off step, doubled for the next time (reset once linked) */
  nextDelay(): number {
    const delay = this.backoff;
    this.backoff = Math.min(RETRY_MAX_MS, this.backoff * 2);
    return delay;
  }

  /** @internal */
  resetBackoff(): void {
    this.backoff = RETRY_FIRST_MS;
  }
}

const targetBindings = new Bindings<ServerTarget>();

const boundTarget = serverTargetMachine.provide({
  actions: {
    dial: ({ context }) => targetBindings.get(context.key)?.dial(),
    resetBackoff: ({ context }) => targetBindings.get(context.key)?.resetBackoff(),
    hangUp: ({ context }) => targetBindings.get(context.key)?.hangUp(),
  },
  delays: {
    retryDelay: ({ context }) => targetBindings.get(context.key)?.nextDelay() ?? RETRY_MAX_MS,
  },
});

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}
