// What request.ts and websocket.ts see of the HTTP server (server.ts builds them, so they must not import it back:
// the folder has no import cycle, as RTMP's link.ts does for its connection).
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Actor } from 'xstate';
import type { httpConnectionMachine } from '../../../machines/http-connection.ts';
import type { Clock } from '../../clock.ts';
import type { NimbusConfig } from '../../config.ts';
import type { Core } from '../../core/core.ts';
import type { RateLimitedLog } from '../../log.ts';
import type { HttpClient } from './client.ts';

export interface HttpServerStats {
  connections: number;
  requests: number;
  blacklisted: number;
  refused: number;
  viewers: number;
  dropped: number;
}

/** Per TCP connection: its current HTTP client, if any. */
export interface HttpConnection {
  readonly socket: Socket;
  readonly id: number;
  client: HttpClient | undefined;
  /** path + query the client was made for */
  key: string;
  /** requests, streaming (a live response in flight), upgraded (WebSocket) or closed: what the code obeys */
  readonly actor: Actor<typeof httpConnectionMachine>;
  /** stops that stream (before the client's onDisconnection) */
  cleanup?: () => void;
  /** the response being written, while a request is handled */
  response?: ServerResponse;
}

export interface HttpLink {
  readonly config: NimbusConfig;
  readonly core: Core;
  readonly clock: Clock;
  readonly stats: HttpServerStats;
  readonly rateLog: RateLimitedLog;
  /** the connection's client is gone: onDisconnection */
  disconnect(connection: HttpConnection): void;
}

/** A live stream response is in flight on the connection. */
export function isStreaming(connection: HttpConnection): boolean {
  return connection.actor.getSnapshot().value === 'streaming';
}

/** "ip:port" as scripts read client.address, brackets around IPv6. */
export function addressOf(socket: Socket): string {
  const host = socket.remoteAddress ?? '';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}
