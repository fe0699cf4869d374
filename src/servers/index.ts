// The server link: MonaServer v1's server-to-server protocol (docs/servers.md).
export { Servers, ServerTarget, type ServersOptions, type TargetSpec } from './servers.ts';
export { ServerLink } from './link.ts';
export { helloPairs, publicAddressOf } from './hello.ts';
