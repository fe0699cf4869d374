// Builds one server from its parts: the core, the enabled protocols, the Lua host and the inspector.
// cli.ts owns the process (arguments, signals, exit codes); tests and benches build the same graph here.
import { readFileSync } from 'node:fs';
import type { Clock } from './clock.ts';
import type { NimbusConfig } from './config.ts';
import type { Logger } from './log.ts';
import { Core } from './core/core.ts';
import type { ApplicationPort, ProtocolServer } from './core/ports.ts';
import { createApplicationHost } from './app/host.ts';
import { RtmfpServer } from './protocols/rtmfp/server.ts';
import type { RtmpServer } from './protocols/rtmp/server.ts';
import type { HttpServer } from './protocols/http/server.ts';
import type { Inspector } from './inspector/inspector.ts';
import { NODE_KEY, type Cluster } from './cluster/cluster.ts';
import { Servers, helloPairs, publicAddressOf } from './servers/index.ts';

export interface NimbusOptions {
  config: NimbusConfig;
  logger: Logger;
  clock?: Clock;
  /** the application layer; the Lua host serving [application] www when absent */
  application?: ApplicationPort;
}

export class Nimbus {
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly core: Core;
  readonly rtmfp: RtmfpServer;
  /** the RTMP server, unless [RTMP] port is 0 (made by start(): its code loads only when it is used) */
  rtmp: RtmpServer | undefined;
  /** the HTTP and WebSocket server, unless [HTTP] port is 0 (made by start(), as RTMP) */
  http: HttpServer | undefined;
  /** every enabled protocol, in start order */
  readonly protocols: ProtocolServer[];
  /** the server link: [servers] port and targets (listens and dials only when configured) */
  readonly servers: Servers;
  /** the built-in inspector, when [inspector] enabled */
  inspector: Inspector | undefined;
  /** cluster mode, when [cluster] redis is set */
  cluster: Cluster | undefined;

  private readonly clock: Clock | undefined;

  constructor(options: NimbusOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.core = new Core({ config: options.config, logger: options.logger, clock: options.clock });
    // the Lua host answers the streams' events (onPublish, onSubscribe...) of the core's publications
    this.core.application =
      options.application ??
      createApplicationHost({
        wwwDir: options.config.application.www,
        logger: options.logger.child({ component: 'app' }),
        server: this.core,
        publications: this.core.publications,
        unsafe: options.config.application.unsafe,
        scriptTimeout: options.config.application.scriptTimeout * 1000,
        scriptMemory: options.config.application.scriptMemory * 1024 * 1024,
      });
    this.rtmfp = new RtmfpServer({ config: options.config, logger: options.logger, core: this.core, clock: options.clock });
    this.protocols = [this.rtmfp];
    this.clock = options.clock;
    this.core.groups = this.rtmfp.groups;
    this.core.publicAddressOf = () => this.rtmfp.publicAddress;
    const { servers } = options.config;
    this.servers = new Servers({
      port: servers.port,
      targets: servers.targets.map((t) => ({ host: t.host, port: t.port, properties: new Map(t.properties) })),
      secret: servers.secret,
      logger: options.logger.child({ component: 'servers' }),
      clock: options.clock,
      application: () => this.core.application,
      helloPairs: () => {
        const pairs = helloPairs({ raw: options.config.raw, publicAddresses: this.publicAddresses() });
        // a cluster node names itself, so the other node knows which directory entry the link serves
        if (this.cluster) pairs.push([NODE_KEY, this.cluster.directory.self.id]);
        return pairs;
      },
      // cluster mode links nodes among themselves: a port even when [servers] port is 0
      listen: options.config.cluster.redis !== '',
    });
    this.core.servers = this.servers;
  }

  /** Where a linked server redirects clients of each enabled protocol to us (top-level `host` first). */
  private publicAddresses(): Record<string, string> {
    const host = this.config.servers.publicHost;
    const out: Record<string, string> = {
      RTMFP: publicAddressOf(host, this.rtmfp.address.port, this.rtmfp.publicAddress),
    };
    if (this.rtmp) {
      const bare = host.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1');
      const bound = this.rtmp.address;
      const fallback = `${bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address}:${bound.port}`;
      out['RTMP'] = publicAddressOf(bare, bound.port, fallback);
    }
    return out;
  }

  /** Inspector first (it sees every actor from the first session on), then sockets, then the application. */
  async start(): Promise<void> {
    await this.loadProtocols();
    if (this.config.inspector.enabled) {
      const { startInspector } = await import('./inspector/index.ts');
      this.inspector = await startInspector(this);
    }
    for (const protocol of this.protocols) await protocol.start();
    if (this.config.cluster.redis !== '') await this.startCluster();
    this.core.start();
    // after the application: onServerConnection needs the root application running
    await this.servers.start();
    if (this.cluster) await this.joinCluster(this.cluster);
  }

  /** RTMP and HTTP when their port is set: imported here so that a server without them never loads their code. */
  private async loadProtocols(): Promise<void> {
    const { config, logger, core, clock } = this;
    if (config.rtmp.port !== 0 && !this.rtmp) {
      const { RtmpServer } = await import('./protocols/rtmp/server.ts');
      this.rtmp = new RtmpServer({ config, logger, core, clock });
      this.protocols.push(this.rtmp);
    }
    if (config.http.port !== 0 && !this.http) {
      const { HttpServer } = await import('./protocols/http/server.ts');
      this.http = new HttpServer({ config, logger, core, clock });
      this.protocols.push(this.http);
    }
  }

  /** After the server link listens: the directory gives the other nodes its address. */
  private async joinCluster(cluster: Cluster): Promise<void> {
    const host = cluster.directory.self.publicAddress.replace(/:\d+$/, '');
    cluster.directory.self.link = `${host}:${this.servers.port}`;
    await cluster.directory.start();
  }

  /** After the sockets (the directory gives their bound address), before the application starts. */
  private async startCluster(): Promise<void> {
    const [{ Cluster }, { Directory }, { randomBytes }] = await Promise.all([
      import('./cluster/cluster.ts'),
      import('./cluster/directory.ts'),
      import('node:crypto'),
    ]);
    const logger = this.logger.child({ component: 'cluster' });
    const publicAddress = this.rtmfp.publicAddress;
    const directory = new Directory({
      url: this.config.cluster.redis,
      self: {
        id: randomBytes(8).toString('hex'),
        name: this.config.cluster.name || publicAddress,
        region: this.config.cluster.region,
        publicAddress,
        link: '',
      },
      logger,
      ca: this.config.cluster.ca === '' ? undefined : readFileSync(this.config.cluster.ca),
      ...this.clusterTimings,
    });
    this.cluster = new Cluster({
      directory,
      groups: () => this.core.groups,
      publications: this.core.publications,
      dial: (host, port) => this.servers.connect({ host, port, properties: new Map() }),
      logger,
    });
    this.core.application = this.cluster.wrap(this.core.application);
    this.core.publications.events = this.cluster.wrapStreams(this.core.publications.events);
  }

  /** tests shorten the heartbeat */
  clusterTimings: { heartbeatMs?: number; nodeTtlMs?: number } = {};

  /** Server links, then clients (their onDisconnection runs), then the application (onStop), then the inspector. */
  async close(): Promise<void> {
    // linked servers hear "Server is stopping" first, and onServerDisconnection runs while the application is up
    await this.servers.close();
    await Promise.all(this.protocols.map((protocol) => protocol.close()));
    await this.cluster?.directory.close();
    this.core.stop();
    await this.inspector?.close();
    this.inspector = undefined;
  }
}
