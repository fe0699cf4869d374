// Lifecycle events on node:diagnostics_channel, as undici publishes its own: monitoring, metrics and
// tests subscribe by name without the inspector. Publishers check `hasSubscribers` first, so an event
// nobody listens to costs one property read. Actor inspection events have their own channel
// (`nimbus:actor`, src/actors/observe.ts), which the built-in inspector subscribes to.
import diagnostics from 'node:diagnostics_channel';
import type { ActorMessage } from '../actors/observe.ts';
import type { ClientPort, ProtocolName } from './ports.ts';

/** A protocol connection (RTMFP session, later RTMP/WebSocket connection) opened or closed. */
export interface SessionMessage {
  protocol: ProtocolName;
  /** the protocol's own id for it (RTMFP: the near session id) */
  id: number | string;
  address: string;
  /** on close: why */
  reason?: string;
}

export interface ClientMessage {
  client: ClientPort;
}

export interface PublicationMessage {
  name: string;
  /** the publishing client, undefined for a publication a script created */
  client: ClientPort | undefined;
}

export interface SubscriptionMessage {
  name: string;
  /** the playing client, undefined for a listener a script or test created */
  client: ClientPort | undefined;
}

export interface ScriptErrorMessage {
  /** application path ('' root) */
  application: string;
  /** what was running: 'main.lua', 'onConnection', 'client:echo' ... */
  event: string;
  /** Lua's error message, position included ("www/main.lua:3: boom") */
  message: string;
  /** the level it is logged at: 'warn' where an error is an answer (onConnection rejects, a client call fails) */
  level: 'error' | 'warn';
  traceback?: string;
}

/** Input dropped as malformed (and counted), by a short stable cause: 'session-id', 'startup-checksum'... (docs/diagnostics.md). */
export interface MalformedMessage {
  protocol: ProtocolName;
  cause: string;
  address?: string;
}

export const channels = {
  sessionOpen: diagnostics.channel('nimbus:session:open'),
  sessionClose: diagnostics.channel('nimbus:session:close'),
  clientConnect: diagnostics.channel('nimbus:client:connect'),
  clientDisconnect: diagnostics.channel('nimbus:client:disconnect'),
  publish: diagnostics.channel('nimbus:publication:publish'),
  unpublish: diagnostics.channel('nimbus:publication:unpublish'),
  subscribe: diagnostics.channel('nimbus:listener:subscribe'),
  unsubscribe: diagnostics.channel('nimbus:listener:unsubscribe'),
  scriptError: diagnostics.channel('nimbus:script:error'),
  malformed: diagnostics.channel('nimbus:malformed'),
} as const;

/** The message type of each channel, for subscribers: `diagnostics.subscribe(name, (m) => m as ChannelMessages[...])`. */
export interface ChannelMessages {
  'nimbus:session:open': SessionMessage;
  'nimbus:session:close': SessionMessage;
  'nimbus:client:connect': ClientMessage;
  'nimbus:client:disconnect': ClientMessage;
  'nimbus:publication:publish': PublicationMessage;
  'nimbus:publication:unpublish': PublicationMessage;
  'nimbus:listener:subscribe': SubscriptionMessage;
  'nimbus:listener:unsubscribe': SubscriptionMessage;
  'nimbus:script:error': ScriptErrorMessage;
  'nimbus:malformed': MalformedMessage;
  'nimbus:actor': ActorMessage;
}
