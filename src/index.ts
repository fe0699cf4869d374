// The package's API (`import { Nimbus } from 'nimbus'`): build a server in-process, or reach its parts.
export { Nimbus, type NimbusOptions } from './nimbus.ts';
export { Core, type CoreOptions } from './core/core.ts';
export { channels, type ChannelMessages } from './core/diagnostics.ts';
export {
  acceptAll,
  HANDSHAKE_AGAIN,
  type ApplicationPort,
  type CallOutcome,
  type ClientPort,
  type ConnectionVerdict,
  type GroupPort,
  type GroupsPort,
  type HandshakeRedirect,
  type MemberPort,
  type ProtocolName,
  type ProtocolServer,
  type ServerPort,
  type WriterPort,
} from './core/ports.ts';
export { loadConfig, type NimbusConfig } from './config.ts';
export * from './errors.ts';
export { createLogger, type Logger } from './log.ts';
