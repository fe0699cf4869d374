// Entry point of the built-in inspector for a NimbusServer ([inspector] enabled = true).
import type { NimbusServer } from '../protocols/rtmfp/server.ts';
import { Inspector } from './inspector.ts';
import { ServerInspectorHost } from './server-host.ts';

export { Inspector } from './inspector.ts';
export { provideFacts, type FactsProvider } from './server-host.ts';
export type { Facts, ActorView, TreeView, TreeNode } from './tree.ts';

export async function startInspector(server: NimbusServer): Promise<Inspector> {
  const { host, port, token } = server.config.inspector;
  const inspector = new Inspector(new ServerInspectorHost(server), { host, port, token, logger: server.logger });
  await inspector.start();
  return inspector;
}
