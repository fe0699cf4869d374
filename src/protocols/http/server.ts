// The HTTP listening side ([HTTP] port, TCP): Node's `http` parses requests, `ws` upgrades WebSocket requests on
// the same port. Each TCP connection holds at most one HTTP client at a time (MonaServer-behaviour.md §2.2);
// requests go to request.ts, WebSocket clients to websocket.ts. Bounds: [HTTP] maxConnections, headersTimeout
// (slowloris), timeout (idle keep-alive), maxBody, and [WebSocket] maxMessage / timeout.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../../clock.ts';
import type { NimbusConfig } from '../../config.ts';
import type { Core } from '../../core/core.ts';
import { hostOf } from '../../core/core.ts';
import { channels } from '../../core/diagnostics.ts';
import type { ProtocolServer } from '../../core/ports.ts';
import { RateLimitedLog, type Logger } from '../../log.ts';
import { createActor } from 'xstate';
import { httpConnectionMachine } from '../../../machines/http-connection.ts';
import { observe } from '../../actors/observe.ts';
import { errorCode } from '../../errors.ts';
import { addressOf, type HttpConnection, type HttpLink, type HttpServerStats } from './link.ts';
import { MAX_HEADER_BYTES } from './params.ts';
import { handleRequest, sendError, type RequestContext } from './request.ts';
import { WebSocketSessions } from './websocket.ts';

export interface HttpServerOptions {
  config: NimbusConfig;
  logger: Logger;
  core: Core;
  clock?: Clock;
}

export class HttpServer implements ProtocolServer, HttpLink {
  readonly protocol = 'HTTP';
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly core: Core;
  readonly clock: Clock;
  readonly stats: HttpServerStats = { connections: 0, requests: 0, blacklisted: 0, refused: 0, viewers: 0, dropped: 0 };
  readonly connections = new Map<Socket, HttpConnection>();
  readonly websockets: WebSocketSessions;
  readonly rateLog: RateLimitedLog;
  private server: http.Server | undefined;
  private nextId = 1;

  constructor(options: HttpServerOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ protocol: 'HTTP' });
    this.core = options.core;
    this.clock = options.clock ?? systemClock;
    this.rateLog = new RateLimitedLog(this.logger);
    this.websockets = new WebSocketSessions(this);
    this.core.onManage(() => this.websockets.manage());
  }

  get address(): AddressInfo {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('HTTP server not started');
    return address;
  }

  private get context(): RequestContext {
    return { server: this, www: this.config.application.www };
  }

  start(): Promise<void> {
    const { host, port, timeout, headersTimeout, maxConnections } = this.config.http;
    const server = http.createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      // slowloris: headers must arrive within headersTimeout, the whole request (body included) soon after
      headersTimeout: headersTimeout * 1000,
      requestTimeout: headersTimeout * 2000,
      keepAliveTimeout: timeout * 1000,
      connectionsCheckingInterval: 1000,
    });
    server.maxConnections = maxConnections;
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.request(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const connection = this.connections.get(socket as Socket);
      if (!connection) {
        socket.destroy();
        return;
      }
      this.websockets.upgrade(req, connection, head);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      this.rateLog.log('info', `clientError:${error.code ?? 'unknown'}`, 'bad HTTP request', { err: error.message });
      if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      } else socket.destroy();
    });
    server.on('drop', () => {
      this.stats.refused++;
      this.rateLog.log('warn', 'maxConnections', 'HTTP connection refused: [HTTP] maxConnections reached', { maxConnections });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      // the listen error itself: start-up names the key from its code, syscall and port (src/ops/startup.ts)
      server.once('error', (error: NodeJS.ErrnoException) => reject(error));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (error) => this.logger.error({ err: error }, 'http server error'));
        this.logger.info({ host, port: this.address.port }, 'HTTP server listening');
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.core.blacklisted.has(hostOf(socket.remoteAddress ?? ''))) {
      this.stats.blacklisted++;
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const id = this.nextId++;
    const actor = createActor(httpConnectionMachine, { clock: this.clock, ...observe('http', id) });
    actor.start();
    const connection: HttpConnection = { socket, id, client: undefined, key: '', actor };
    this.connections.set(socket, connection);
    const address = addressOf(socket);
    if (channels.sessionOpen.hasSubscribers) channels.sessionOpen.publish({ protocol: 'HTTP', id: connection.id, address });
    socket.once('close', () => {
      this.connections.delete(socket);
      this.disconnect(connection);
      actor.send({ type: 'CLOSED', reason: 'closed' });
      if (channels.sessionClose.hasSubscribers)
        channels.sessionClose.publish({ protocol: 'HTTP', id: connection.id, address, reason: 'closed' });
    });
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    const connection = this.connections.get(req.socket);
    if (!connection) {
      res.destroy();
      return;
    }
    handleRequest(this.context, connection, req, res).catch((error: unknown) => {
      this.logger.error({ err: error, code: errorCode(error) }, 'HTTP request failed');
      if (!res.headersSent) sendError(req, res, 500, 'Internal error', true);
      else res.destroy();
    });
  }

  /** The connection's client is gone (connection closed, or another path asked): onDisconnection. */
  disconnect(connection: HttpConnection): void {
    connection.cleanup?.();
    const client = connection.client;
    connection.client = undefined;
    connection.key = '';
    if (!client || client.closed) return;
    client.closed = true;
    if (!client.connected) return;
    try {
      this.core.application.onDisconnection(client);
    } finally {
      this.core.removeClient(client);
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    await this.websockets.close();
    for (const connection of [...this.connections.values()]) {
      connection.socket.destroy();
      this.connections.delete(connection.socket);
      this.disconnect(connection);
    }
    server.closeAllConnections();
    await closing;
  }
}
