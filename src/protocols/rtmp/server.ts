// The RTMP listening side ([RTMP] port, TCP): one RtmpConnection per accepted socket, refused at once for a
// blacklisted host. Plain code; it never throws on input (connections end themselves on bad input).
import net, { type AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../clock.ts';
import type { NimbusConfig } from '../../config.ts';
import type { Core } from '../../core/core.ts';
import { hostOf } from '../../core/core.ts';
import type { ProtocolServer } from '../../core/ports.ts';
import { RateLimitedLog, type Logger } from '../../log.ts';
import { RtmpConnection } from './connection.ts';
import { channels } from '../../core/diagnostics.ts';

export interface RtmpServerOptions {
  config: NimbusConfig;
  logger: Logger;
  core: Core;
  clock?: Clock;
}

export interface RtmpServerStats {
  accepted: number;
  blacklisted: number;
}

/** How long close() waits for connections to end (their onDisconnection) before destroying them. */
const CLOSE_WAIT_MS = 2_000;

export class RtmpServer implements ProtocolServer {
  readonly protocol = 'RTMP';
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly core: Core;
  readonly clock: Clock;
  readonly connections = new Map<number, RtmpConnection>();
  readonly stats: RtmpServerStats = { accepted: 0, blacklisted: 0 };
  private server: net.Server | undefined;
  private nextId = 1;
  /** bad input from any number of connections: one line per cause per interval */
  private readonly rateLog: RateLimitedLog;

  constructor(options: RtmpServerOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ protocol: 'RTMP' });
    this.core = options.core;
    this.clock = options.clock ?? systemClock;
    this.rateLog = new RateLimitedLog(this.logger);
  }

  /** The bound address, once started. */
  get address(): AddressInfo {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('RTMP server not started');
    return address;
  }

  start(): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    const { host, port } = this.config.rtmp;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.logger.error({ err: error }, 'rtmp server error'));
        this.logger.info({ host, port: this.address.port }, 'RTMP server listening');
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.core.blacklisted.has(hostOf(socket.remoteAddress ?? ''))) {
      this.stats.blacklisted++;
      socket.destroy();
      return;
    }
    this.stats.accepted++;
    const id = this.nextId++;
    const connection = new RtmpConnection({
      id,
      socket,
      core: this.core,
      logger: this.logger.child({ rtmp: id }),
      clock: this.clock,
      timeoutMs: this.config.rtmp.timeout * 1000,
      rateLog: this.rateLog,
      onClosed: (closed, reason) => {
        this.connections.delete(closed.id);
        if (channels.sessionClose.hasSubscribers) channels.sessionClose.publish({ protocol: 'RTMP', id, address: closed.address, reason });
      },
    });
    this.connections.set(id, connection);
    if (channels.sessionOpen.hasSubscribers) channels.sessionOpen.publish({ protocol: 'RTMP', id, address: connection.address });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const connection of this.connections.values()) connection.close('server closing');
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // whoever did not end in time is cut (closed → onDisconnection still runs)
    for (const connection of [...this.connections.values()]) {
      connection.destroySocket();
      connection.onClosed('server closed');
    }
    await closing;
  }
}
