// WebSocket clients on the HTTP port (RFC 6455, the `ws` package): the upgrade is put to the application first
// (onConnection; a refusal answers the HTTP error page instead of the 101, as MonaServer §3.1), then text frames
// carry MonaServer's JSON RPC (§3.3) and binary frames go to client:onMessage. `ws://host/app/<name>.flv` is a live
// viewer instead: FLV over binary frames, authorised by client:onSubscribe. Keepalive: a ping every 40 s, and a
// client silent for [WebSocket] timeout is dropped (§3.4), both on the core's 2-second manage tick.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { WebSocketServer, WebSocket } from 'ws';
import { WireError } from '../../errors.ts';
import { isAMFObject, type AMFValue } from '../../flash/amf/types.ts';
import { clip } from '../../log.ts';
import { requestProperties } from './client.ts';
import { errorPage, splitPath } from './files.ts';
import { FlvSink } from './flv.ts';
import { parseJSON, rawConcat, toJSON } from './json.ts';
import { WS_CLOSE, WS_PING_MS } from './params.ts';
import { queryArguments } from './query.ts';
import { addressOf, type HttpConnection, type HttpLink } from './link.ts';
import { WsClient } from './ws-client.ts';

/** RFC 6455 §4.1: a 16-byte nonce, base64 encoded. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;

export class WebSocketSessions {
  readonly clients = new Set<WsClient>();
  private acceptor: WebSocketServer | undefined;

  constructor(private readonly server: HttpLink) {}

  /** made on the first upgrade: a server no WebSocket client reaches never loads `ws` (idle memory, start-up) */
  private get wss(): WebSocketServer {
    if (this.acceptor) return this.acceptor;
    const { WebSocketServer } = createRequire(import.meta.url)('ws') as typeof import('ws');
    this.acceptor = new WebSocketServer({
      noServer: true,
      maxPayload: this.server.config.websocket.maxMessage,
      perMessageDeflate: false,
      clientTracking: false,
    });
    return this.acceptor;
  }

  upgrade(req: IncomingMessage, connection: HttpConnection, head: Buffer): void {
    const server = this.server;
    const socket = connection.socket;
    const key = req.headers['sec-websocket-key'];
    const version = req.headers['sec-websocket-version'];
    if (
      (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
      typeof key !== 'string' ||
      !KEY.test(key) ||
      (version !== '13' && version !== '8')
    ) {
      refuse(req, socket, 400, 'Bad WebSocket upgrade');
      return;
    }
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const query = mark < 0 ? '' : url.slice(mark + 1);
    const split = splitPath(mark < 0 ? url : url.slice(0, mark));
    if (!split.ok) {
      refuse(req, socket, split.status, split.reason);
      return;
    }
    const application = server.core.application;
    const checked = application.resolvePath(split.path);
    if (!checked.ok) {
      refuse(req, socket, 503, `Application /${split.path} doesn't exist`);
      return;
    }
    const client = new WsClient({
      address: addressOf(socket),
      path: checked.path,
      query,
      properties: requestProperties(req.httpVersion, req.rawHeaders),
      timeout: server.config.websocket.timeout,
    });
    const verdict = application.onConnection(client, queryArguments(query));
    if (!verdict.accepted) {
      client.closed = true;
      refuse(req, socket, 500, verdict.description || 'client rejected');
      return;
    }
    client.connected = true;
    this.clients.add(client);
    server.core.addClient(client);
    // the socket may die before the upgrade completes: the client must not outlive it
    const early = (): void => this.closed(client);
    socket.once('close', early);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', early);
      connection.actor.send({ type: 'UPGRADE' });
      client.attach(ws);
      const stream = split.file.toLowerCase().endsWith('.flv') ? split.file.slice(0, -4) : undefined;
      if (stream !== undefined) this.play(client, ws, stream, query);
      else this.bind(client, ws, checked.path === '' ? '' : `/${checked.path}`);
      ws.on('pong', () => {
        client.lastReceptionTime = Date.now();
        if (client.pingSentAt >= 0) client.ping = Math.round(performance.now() - client.pingSentAt);
        client.pingSentAt = -1;
      });
      ws.on('ping', () => (client.lastReceptionTime = Date.now()));
      ws.on('error', (error) => server.rateLog.log('info', 'ws-error', 'WebSocket error', { err: error.message }));
      ws.once('close', () => this.closed(client));
    });
  }

  /** RPC: text frames as MonaServer's JSON arrays, binary frames to onMessage. */
  private bind(client: WsClient, ws: WebSocket, appUrl: string): void {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      client.lastReceptionTime = Date.now();
      if (client.closed) return;
      if (isBinary) {
        this.call(client, '', [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)], true, appUrl);
        return;
      }
      const text = data.toString('utf8');
      const trimmed = text.trim();
      const json = (trimmed.startsWith('[') && trimmed.endsWith(']')) || (trimmed.startsWith('{') && trimmed.endsWith('}'));
      if (!json) {
        this.call(client, '', [text], true, appUrl);
        return;
      }
      let parsed: AMFValue;
      try {
        parsed = parseJSON(trimmed);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        this.call(client, '', [text], true, appUrl);
        return;
      }
      if (Array.isArray(parsed)) {
        const [first, ...rest] = parsed;
        if (typeof first === 'string') this.call(client, first, rest, false, appUrl);
        else this.call(client, '', parsed, false, appUrl);
      } else if (isAMFObject(parsed)) {
        const [name] = Object.keys(parsed);
        if (name !== undefined) this.call(client, name, [parsed[name]], false, appUrl);
      }
    });
  }

  /** client:<method>(args...): an unknown method or a script error closes with 1002 (MonaServer §3.4). */
  private call(client: WsClient, method: string, args: AMFValue[], binary: boolean, appUrl: string): void {
    const application = this.server.core.application;
    const name = method === '' ? 'onMessage' : method;
    if (!application.hasMethod?.(client, name)) {
      const description = `Method '${clip(name)}' not found on application ${appUrl}`;
      this.server.rateLog.log('info', 'ws-no-method', 'WebSocket call refused', { description });
      client.close(WS_CLOSE.PROTOCOL_ERROR, description);
      return;
    }
    const outcome = application.onCall(client, method, 0, args);
    if (!outcome.ok) {
      client.close(WS_CLOSE.PROTOCOL_ERROR, outcome.description);
      return;
    }
    if (outcome.results.length === 0) return;
    if (binary) client.sendBinary(Buffer.from(rawConcat(outcome.results)));
    else client.sendText(toJSON(outcome.results));
  }

  /** FLV over WebSocket: one binary frame per batch of tags the publication relays together. */
  private play(client: WsClient, ws: WebSocket, name: string, query: string): void {
    const server = this.server;
    const publications = server.core.publications;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const sink = new FlvSink(
      {
        write: (bytes) => {
          pending.push(bytes);
          pendingBytes += bytes.length;
        },
        backlog: () => ws.bufferedAmount + pendingBytes,
        flush: () => {
          if (pending.length === 0) return;
          const frame = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          ws.send(frame, { binary: true });
        },
        drop: (reason) => {
          server.stats.dropped++;
          server.rateLog.log('info', 'viewer-dropped', 'WebSocket FLV viewer dropped', { reason, stream: clip(name) });
          ws.terminate();
        },
      },
      publications.get(name) ?? { audioConfig: undefined, videoConfig: undefined },
      server.clock,
    );
    const parameters: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(query)) if (key !== '__proto__') parameters[key] = value;
    const outcome = publications.subscribe(name, client, sink, { parameters });
    if (!outcome.ok) {
      // 1008: policy violation (RFC 6455 §7.4.1), with onSubscribe's words
      client.close(1008, outcome.description);
      return;
    }
    const listener = outcome.listener;
    sink.publication = listener.publication;
    server.stats.viewers++;
    client.stop = () => {
      server.stats.viewers--;
      publications.unsubscribe(listener, false);
    };
    listener.start();
  }

  private closed(client: WsClient): void {
    if (client.closed) return;
    client.closed = true;
    this.clients.delete(client);
    const stop = client.stop;
    client.stop = undefined;
    stop?.();
    try {
      this.server.core.application.onDisconnection(client);
    } finally {
      this.server.core.removeClient(client);
    }
  }

  /** Every 2 s: a ping every WS_PING_MS, and clients silent for their timeout dropped. */
  manage(): void {
    const now = Date.now();
    const tick = performance.now();
    for (const client of [...this.clients]) {
      const ws = client.ws;
      if (!ws) continue;
      if (now - client.lastReceptionTime > client.timeoutSeconds * 1000) {
        this.server.rateLog.log('info', 'ws-timeout', 'WebSocket client timed out', { address: client.address });
        ws.terminate();
        continue;
      }
      if (tick - client.lastPingAt >= WS_PING_MS) {
        client.lastPingAt = tick;
        client.pingSentAt = tick;
        ws.ping();
      }
    }
  }

  async close(): Promise<void> {
    for (const client of [...this.clients]) {
      client.ws?.close(WS_CLOSE.GOING_AWAY);
      client.ws?.terminate();
      this.closed(client);
    }
    const acceptor = this.acceptor;
    if (acceptor) await new Promise<void>((resolve) => acceptor.close(() => resolve()));
  }
}

/** The HTTP error page instead of the 101 (MonaServer §3.1), then the socket closes. */
function refuse(req: IncomingMessage, socket: Socket, status: number, message: string): void {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    403: 'Forbidden',
    414: 'URI Too Long',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  const reason = reasons[status] ?? 'Error';
  const body = Buffer.from(errorPage(status, reason, message, req.headers.host ?? ''));
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nServer: Mona\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString()}`,
    );
  } else socket.destroy();
}
