// The protocol-neutral heart of a server: the application every protocol hands its clients to, the
// connected clients of every protocol, the live streams, the blacklist and the 2-second manage tick.
// Protocols take a Core and turn their traffic into calls on it; the Lua host sees it as a ServerPort.
import { systemClock, type Clock } from '../clock.ts';
import type { NimbusConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { hex } from '../bytes.ts';
import { errorCode } from '../errors.ts';
import { Publications } from './media/publications.ts';
import { acceptAll, type ApplicationPort, type ClientPort, type GroupsPort, type ServerPort, type ServersPort } from './ports.ts';
import { channels } from './diagnostics.ts';

/** Every 2 s, as CumulusServer and MonaServer call onManage. */
export const MANAGE_INTERVAL_MS = 2_000;

export interface CoreOptions {
  config: NimbusConfig;
  logger: Logger;
  clock?: Clock;
}

export class Core implements ServerPort {
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly startTime = Date.now();
  /** every live stream by name, whatever protocol publishes or plays it */
  readonly publications: Publications;
  /** the application layer; acceptAll until the composition root sets the Lua host */
  application: ApplicationPort = acceptAll;
  /** NetGroups, provided by the protocol that has them (RTMFP) */
  groups: GroupsPort | undefined;
  /** linked servers, provided by the server link (src/servers/) */
  servers: ServersPort | undefined;
  /** "host:port" clients are given (redirections, `publicAddress`); set by the composition root */
  publicAddressOf: () => string;
  /** hosts (no port) whose handshakes are ignored */
  readonly blacklisted = new Set<string>();
  private readonly connected = new Map<string, ClientPort>();
  private readonly manageHooks: Array<() => void> = [];
  private manageTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: CoreOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.publications = new Publications(this.clock);
    this.publicAddressOf = () => options.config.rtmfp.publicAddress || `127.0.0.1:${options.config.rtmfp.port}`;
  }

  // ServerPort ----------------------------------------------------------------------------------------
  get clients(): Iterable<ClientPort> {
    return this.connected.values();
  }

  get clientCount(): number {
    return this.connected.size;
  }

  clientById(rawId: Uint8Array): ClientPort | undefined {
    return this.connected.get(hex(rawId));
  }

  get configs(): Record<string, Record<string, string>> {
    return this.config.raw;
  }

  get publicAddress(): string {
    return this.publicAddressOf();
  }

  readonly blacklist = {
    add: (address: string): void => void this.blacklisted.add(hostOf(address)),
    remove: (address: string): void => void this.blacklisted.delete(hostOf(address)),
  };

  // Protocols -----------------------------------------------------------------------------------------
  /** A client was accepted by the application (any protocol). */
  addClient(client: ClientPort): void {
    this.connected.set(hex(client.rawId), client);
    if (channels.clientConnect.hasSubscribers) channels.clientConnect.publish({ client });
  }

  /** A connected client is gone (after its onDisconnection). */
  removeClient(client: ClientPort): void {
    const id = hex(client.rawId);
    if (this.connected.get(id) !== client) return;
    this.connected.delete(id);
    if (channels.clientDisconnect.hasSubscribers) channels.clientDisconnect.publish({ client });
  }

  /** Protocol housekeeping run on the manage tick, before the application's onManage. */
  onManage(hook: () => void): void {
    this.manageHooks.push(hook);
  }

  /** Starts the application (onStart) and the manage tick. */
  start(): void {
    this.application.start();
    this.manageTimer = setInterval(() => this.manage(), MANAGE_INTERVAL_MS);
    this.manageTimer.unref();
  }

  /** Stops the tick and the application (onStop); protocols close their clients before. */
  stop(): void {
    if (this.manageTimer) clearInterval(this.manageTimer);
    this.manageTimer = undefined;
    try {
      this.application.stop();
    } catch (error) {
      this.logger.error({ err: error, code: errorCode(error) }, 'application stop failed');
    }
  }

  private manage(): void {
    for (const hook of this.manageHooks) hook();
    try {
      this.application.onManage();
    } catch (error) {
      this.logger.error({ err: error, code: errorCode(error) }, 'application onManage failed');
    }
  }
}

/** "1.2.3.4:5", "[::1]:5" or a bare host ("1.2.3.4", "::1") → the host the blacklist keys on. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return address.slice(1, end < 0 ? undefined : end);
  }
  const colon = address.indexOf(':');
  // two colons or more: a bare IPv6 address, which carries no port without brackets
  return colon >= 0 && address.indexOf(':', colon + 1) < 0 ? address.slice(0, colon) : address;
}
