// One HTTP request, as MonaServer answers it (MonaServer-behaviour.md §2): the URL names an application and a file;
// the connection's client is made (onConnection) or kept; then a POST body or a file name without extension calls a
// client method (answered in JSON), a folder request gives the `index` answer, a file goes through client:onRead, and
// a missing `<name>.flv` plays the live publication `<name>` as HTTP-FLV.
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import { extname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WireError } from '../../errors.ts';
import type { AMFValue } from '../../flash/amf/types.ts';
import { clip } from '../../log.ts';
import { readBody, type BodyFormat } from './body.ts';
import { HttpClient, requestProperties } from './client.ts';
import { FlvSink } from './flv.ts';
import { errorPage, listing, locate, sendFile, splitPath } from './files.ts';
import { rawConcat, toJSON } from './json.ts';
import { methodResponse } from './xmlrpc.ts';
import { PLAYER_LIBRARY, SERVER_NAME } from './params.ts';
import { queryArguments } from './query.ts';
import { addressOf, isStreaming, type HttpConnection, type HttpLink } from './link.ts';

export interface RequestContext {
  server: HttpLink;
  www: string;
}

const FALSE_LIKE = new Set(['false', 'no', 'off', '0', '']);

export async function handleRequest(
  ctx: RequestContext,
  connection: HttpConnection,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  connection.response = res;
  res.once('finish', () => {
    if (connection.response === res) connection.response = undefined;
  });
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  const pathname = mark < 0 ? url : url.slice(0, mark);
  const query = mark < 0 ? '' : url.slice(mark + 1);
  res.setHeader('Server', SERVER_NAME);
  const origin = req.headers.origin;
  if (origin !== undefined) res.setHeader('Access-Control-Allow-Origin', origin);
  const method = req.method ?? '';
  if (method === 'OPTIONS') {
    // CORS preflight (MonaServer §2.7 answers it the same way, without its "PATH" typo)
    res.writeHead(200, {
      'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '',
      'Access-Control-Max-Age': 86400,
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    res.setHeader('Allow', 'GET, HEAD, POST, OPTIONS');
    sendError(req, res, 405, `${clip(method)} is not supported`, true);
    return;
  }
  if (pathname === PLAYER_LIBRARY.url && method !== 'POST') {
    if (await sendPlayerLibrary(ctx, req, res)) return;
  }
  const split = splitPath(pathname);
  if (!split.ok) {
    ctx.server.rateLog.log('info', `path:${split.status}`, 'HTTP path refused', { reason: split.reason, path: clip(pathname) });
    sendError(req, res, split.status, split.reason, true);
    return;
  }
  const application = ctx.server.core.application;
  const checked = application.resolvePath(split.path);
  if (!checked.ok) {
    sendError(req, res, 503, `Application /${split.path} doesn't exist`, true);
    return;
  }
  const path = checked.path;
  const client = connect(ctx, connection, req, path, query);
  if (typeof client === 'string') {
    sendError(req, res, 500, client, true);
    return;
  }
  client.lastReceptionTime = Date.now();
  client.properties = requestProperties(req.httpVersion, req.rawHeaders);
  const appUrl = path === '' ? '' : `/${path}`;

  if (method === 'POST') {
    const body = await readRequestBody(ctx, req, res);
    if (!body) return;
    let call;
    try {
      call = readBody(req.headers['content-type'], body);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      sendError(req, res, 400, error.message, true);
      return;
    }
    callMethod(ctx, client, req, res, call.method, call.args, call.format, appUrl);
    return;
  }

  const args = queryArguments(query);
  if (split.file === '') {
    await folderRequest(ctx, client, req, res, path, query, args, appUrl);
    return;
  }
  const file = split.file;
  if (extname(file) === '' && application.hasMethod?.(client, file)) {
    callMethod(ctx, client, req, res, file, args, formatOf(req), appUrl);
    return;
  }
  const outcome = application.onRead?.(client, file, args) ?? { kind: 'serve', file, returned: false };
  if (outcome.kind === 'error') {
    sendError(req, res, 500, outcome.description, true);
    return;
  }
  if (outcome.kind === 'refuse') {
    client.writer.takeRaw();
    sendError(req, res, 403, `No authorization to see the content of ${appUrl}/${file}`, true);
    return;
  }
  const raw = client.writer.takeRaw();
  if (!outcome.returned && raw) {
    // the script wrote its own answer and returned nothing (MonaServer §2.4)
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': raw.length });
    res.end(method === 'HEAD' ? undefined : raw);
    return;
  }
  const name = outcome.file;
  if (name === '') {
    sendError(req, res, 404, `The requested URL ${appUrl}/ was not found on this server`, false);
    return;
  }
  const located = await locate(ctx.www, path, name);
  switch (located.kind) {
    case 'file':
      await sendFile(req, res, located.path, located.stat, outcome.parameters);
      return;
    case 'folder':
      res.writeHead(301, { Location: `${appUrl}/${encodeURIComponent(name)}/${query ? `?${query}` : ''}`, 'Content-Length': 0 });
      res.end();
      return;
    case 'forbidden':
      sendError(req, res, 403, `No authorization to see the content of ${appUrl}/${name}`, false);
      return;
    case 'missing':
      if (extname(name).toLowerCase() === '.flv') {
        playStream(ctx, connection, client, req, res, name.slice(0, -4), query);
        return;
      }
      sendError(req, res, 404, `The requested URL ${appUrl}/${name} was not found on this server`, false);
  }
}

/** The connection's client for this path and query: kept, or replaced (onDisconnection, onConnection). A string: refused. */
function connect(ctx: RequestContext, connection: HttpConnection, req: IncomingMessage, path: string, query: string): HttpClient | string {
  const key = `${path}?${query}`;
  if (connection.client && !connection.client.closed && connection.key === key) return connection.client;
  ctx.server.disconnect(connection);
  const socket = connection.socket;
  const client = new HttpClient({
    protocol: 'HTTP',
    address: addressOf(socket),
    path,
    query,
    properties: requestProperties(req.httpVersion, req.rawHeaders),
    end: () => {
      // writer:close() from a script: after the response in progress, if any (a live stream ends now)
      const response = connection.response;
      if (isStreaming(connection) || !response || response.writableFinished) socket.end();
      else if (!response.headersSent) response.setHeader('Connection', 'close');
      else response.once('finish', () => socket.end());
    },
    // keep-alive is bounded server-wide by [HTTP] timeout; a client's own timeout has nothing more to bound
    setTimeout: () => {},
  });
  const verdict = ctx.server.core.application.onConnection(client, queryArguments(query));
  if (!verdict.accepted) {
    client.closed = true;
    return verdict.description || 'client rejected';
  }
  client.connected = true;
  connection.client = client;
  connection.key = key;
  ctx.server.core.addClient(client);
  return client;
}

/** A folder request and the `index` setting (MonaServer §2.3). */
async function folderRequest(
  ctx: RequestContext,
  client: HttpClient,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
  args: AMFValue[],
  appUrl: string,
): Promise<void> {
  const index = ctx.server.config.http.index.trim();
  if (FALSE_LIKE.has(index.toLowerCase())) {
    sendError(req, res, 403, `No authorization to see the content of ${appUrl}/`, true);
    return;
  }
  const located = await locate(ctx.www, path, '');
  if (located.kind !== 'folder') {
    sendError(req, res, 404, `The requested URL ${appUrl}/ was not found on this server`, false);
    return;
  }
  if (index.toLowerCase() === 'true' || index.toLowerCase() === 'yes' || index.toLowerCase() === 'on') {
    const body = Buffer.from(await listing(located.path, `${appUrl}/`, query));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const name = index.slice(index.lastIndexOf('/') + 1);
  if (extname(name) === '') {
    if (ctx.server.core.application.hasMethod?.(client, name)) callMethod(ctx, client, req, res, name, args, formatOf(req), appUrl);
    else sendError(req, res, 404, `The requested URL ${appUrl}/ was not found on this server`, false);
    return;
  }
  // an index naming a file is served without onRead (MonaServer §2.3)
  const file = await locate(ctx.www, path, name);
  if (file.kind === 'file') await sendFile(req, res, file.path, file.stat);
  else sendError(req, res, 404, `The requested URL ${appUrl}/${name} was not found on this server`, false);
}

function formatOf(req: IncomingMessage): BodyFormat {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (/[/+]xml\b/.test(type)) return 'xml';
  if (type === '' || type.includes('json')) return 'json';
  return 'raw';
}

/** client:<method>(args...): return values answer, in the request's format (MonaServer §2.5). */
function callMethod(
  ctx: RequestContext,
  client: HttpClient,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  args: AMFValue[],
  format: BodyFormat,
  appUrl: string,
): void {
  const application = ctx.server.core.application;
  const name = method === '' ? 'onMessage' : method;
  if (!application.hasMethod?.(client, name)) {
    sendError(req, res, 503, `Method '${name}' not found on application ${appUrl}`, true);
    return;
  }
  const outcome = application.onCall(client, method, 0, args);
  client.writer.takeRaw();
  // pushes written during the call (writeInvocation) have no place in this answer: the JSON array is the return values
  client.writer.values = [];
  if (!outcome.ok) {
    sendError(req, res, 500, outcome.description, true);
    return;
  }
  let body: Buffer;
  let type: string;
  if (format === 'json') {
    body = Buffer.from(toJSON(outcome.results));
    type = 'application/json';
  } else if (format === 'xml') {
    body = Buffer.from(methodResponse(outcome.results));
    type = 'text/xml; charset=utf-8';
  } else if (format === 'form') {
    body = Buffer.from(formEncode(outcome.results));
    type = 'application/x-www-form-urlencoded';
  } else {
    body = Buffer.from(rawConcat(outcome.results));
    type = req.headers['content-type'] ?? 'text/plain; charset=utf-8';
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function formEncode(values: AMFValue[]): string {
  const parts: string[] = [];
  for (const value of values) {
    if (
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Uint8Array) &&
      !Array.isArray(value) &&
      !(value instanceof Date)
    ) {
      for (const [key, item] of Object.entries(value)) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
    } else parts.push(encodeURIComponent(String(value)));
  }
  return parts.join('&');
}

/** The body, or undefined once a 413 has been sent ([HTTP] maxBody). */
async function readRequestBody(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  const limit = ctx.server.config.http.maxBody;
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) {
    sendError(req, res, 413, `Request body over ${limit} bytes`, true);
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      sendError(req, res, 413, `Request body over ${limit} bytes`, true);
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** HTTP-FLV: the live publication `name` from a key frame on, authorised by client:onSubscribe. */
function playStream(
  ctx: RequestContext,
  connection: HttpConnection,
  client: HttpClient,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  query: string,
): void {
  const server = ctx.server;
  const publications = server.core.publications;
  let corked = false;
  const stopper: { stop?: () => void } = {};
  const socket = req.socket;
  const sink = new FlvSink(
    {
      write: (bytes) => {
        if (!corked) {
          corked = true;
          socket.cork();
        }
        res.write(bytes);
      },
      backlog: () => socket.writableLength,
      flush: () => {
        if (!corked) return;
        corked = false;
        socket.uncork();
      },
      drop: (reason) => {
        server.stats.dropped++;
        server.rateLog.log('info', 'viewer-dropped', 'HTTP-FLV viewer dropped', { reason, stream: clip(name) });
        stopper.stop?.();
        res.destroy();
      },
    },
    publications.get(name) ?? { audioConfig: undefined, videoConfig: undefined },
    server.clock,
  );
  const parameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) if (key !== '__proto__') parameters[key] = value;
  const outcome = publications.subscribe(name, client, sink, { parameters });
  if (!outcome.ok) {
    sendError(req, res, 403, outcome.description, false);
    return;
  }
  const listener = outcome.listener;
  sink.publication = listener.publication;
  let done = false;
  const stop = (): void => {
    if (done) return;
    done = true;
    server.stats.viewers--;
    connection.actor.send({ type: 'STREAM_END' });
    connection.cleanup = undefined;
    publications.unsubscribe(listener, false);
  };
  stopper.stop = stop;
  server.stats.viewers++;
  connection.actor.send({ type: 'STREAM' });
  connection.cleanup = stop;
  res.once('close', stop);
  // a live stream has no length: chunked (RFC 9112 §7.1), never cached, and no idle timeout while it flows
  res.writeHead(200, { 'Content-Type': 'video/x-flv', 'Cache-Control': 'no-cache, no-store', Pragma: 'no-cache' });
  socket.setTimeout(0);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  listener.start();
}

async function sendPlayerLibrary(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  // www/ wins: an application may ship its own copy
  const own = await locate(ctx.www, '', PLAYER_LIBRARY.url.slice(1));
  if (own.kind === 'file') return false;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve(PLAYER_LIBRARY.module);
  } catch {
    return false;
  }
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat) return false;
  await sendFile(req, res, file, stat);
  return true;
}

/** MonaServer's error page; 403, 500 and 503 close the connection as MonaServer does (§2.7). */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, message: string, close: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reason = STATUS_TEXT[status] ?? 'Error';
  const body = Buffer.from(errorPage(status, reason, message, req.headers.host ?? ''));
  const headers: Record<string, string | number> = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length };
  if (close) headers.Connection = 'close';
  res.writeHead(status, reason, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
