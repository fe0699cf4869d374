// Builds one server from its parts: the core, the enabled protocols, the Lua host and the inspector.
// cli.ts owns the process (arguments, signals, exit codes); tests and benches build the same graph here.
import type { Clock } from './clock.ts';
import type { NimbusConfig } from './config.ts';
import type { Logger } from './log.ts';
import { Core } from './core/core.ts';
import type { ApplicationPort, ProtocolServer } from './core/ports.ts';
import { createApplicationHost } from './app/host.ts';
import { RtmfpServer } from './protocols/rtmfp/server.ts';
import { RtmpServer } from './protocols/rtmp/server.ts';
import { HttpServer } from './protocols/http/server.ts';
import type { Inspector } from './inspector/inspector.ts';
import type { Cluster } from './cluster/cluster.ts';

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
  /** the RTMP server, unless [RTMP] port is 0 */
  readonly rtmp: RtmpServer | undefined;
  /** the HTTP and WebSocket server, unless [HTTP] port is 0 */
  readonly http: HttpServer | undefined;
  /** every enabled protocol, in start order */
  readonly protocols: ProtocolServer[];
  /** the built-in inspector, when [inspector] enabled */
  inspector: Inspector | undefined;
  /** cluster mode, when [cluster] redis is set */
  cluster: Cluster | undefined;

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
    if (options.config.rtmp.port !== 0) {
      this.rtmp = new RtmpServer({ config: options.config, logger: options.logger, core: this.core, clock: options.clock });
      this.protocols.push(this.rtmp);
    }
    if (options.config.http.port !== 0) {
      this.http = new HttpServer({ config: options.config, logger: options.logger, core: this.core, clock: options.clock });
      this.protocols.push(this.http);
    }
    this.core.groups = this.rtmfp.groups;
    this.core.publicAddressOf = () => this.rtmfp.publicAddress;
  }

  /** Inspector first (it sees every actor from the first session on), then sockets, then the application. */
  async start(): Promise<void> {
    if (this.config.inspector.enabled) {
      const { startInspector } = await import('./inspector/index.ts');
      this.inspector = await startInspector(this);
    }
    for (const protocol of this.protocols) await protocol.start();
    if (this.config.cluster.redis !== '') await this.startCluster();
    this.core.start();
  }

  /** After the sockets: the directory registers the address they are bound to. */
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
      ...this.clusterTimings,
    });
    this.cluster = new Cluster({ directory, groups: () => this.core.groups, logger });
    this.core.application = this.cluster.wrap(this.core.application);
    this.core.publications.events = this.cluster.wrapStreams(this.core.publications.events);
    await directory.start();
  }

  /** tests shorten the heartbeat */
  clusterTimings: { heartbeatMs?: number; nodeTtlMs?: number } = {};

  /** Clients first (their onDisconnection runs), then the application (onStop), then the inspector. */
  async close(): Promise<void> {
    await Promise.all(this.protocols.map((protocol) => protocol.close()));
    await this.cluster?.directory.close();
    this.core.stop();
    await this.inspector?.close();
    this.inspector = undefined;
  }
}
