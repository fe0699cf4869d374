// Entry point of the built-in inspector for a Nimbus server ([inspector] enabled = true).
import type { NimbusConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Core } from '../core/core.ts';
import type { RtmfpServer } from '../protocols/rtmfp/server.ts';
import type { RtmpServer } from '../protocols/rtmp/server.ts';
import { Inspector } from './inspector.ts';
import { Metrics } from './metrics.ts';
import { Api } from './api.ts';
import { ServerInspectorHost } from './server-host.ts';

export { Inspector } from './inspector.ts';
export { provideFacts, type FactsProvider } from './server-host.ts';
export type { Facts, ActorView, TreeView, TreeNode } from './tree.ts';

/** What the inspector watches: the core and the protocol servers of one Nimbus (src/nimbus.ts). */
export interface InspectedServer {
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly core: Core;
  readonly rtmfp: RtmfpServer;
  /** the RTMP server when enabled: its connections appear in /metrics and the API */
  readonly rtmp?: RtmpServer | undefined;
}

export async function startInspector(server: InspectedServer): Promise<Inspector> {
  const { host, port, token } = server.config.inspector;
  // /metrics and the JSON API answer from the same server, page open or not
  const routes = [new Metrics(server), new Api(server)];
  const inspector = new Inspector(new ServerInspectorHost(server.core, server.rtmfp), { host, port, token, logger: server.logger, routes });
  await inspector.start();
  return inspector;
}
