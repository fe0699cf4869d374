// Static files of the application tree (www/): a request path split as MonaServer splits it (MonaServer-behaviour.md
// §2.1: with a trailing slash the whole path is the application, else the last segment is a file of it), escapes
// refused before any filesystem work, and files sent with validators (RFC 9110 §8.8: Last-Modified from the file's
// mtime, a weak ETag), conditional requests (§13: If-None-Match, If-Modified-Since), single byte ranges (§14) and HEAD.
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { extname, join, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { CONTENT_TYPES, DEFAULT_CONTENT_TYPE, MAX_URL_LENGTH } from './params.ts';

export type SplitPath =
  | { ok: true; /** application path ('' root, 'a/b') */ path: string; /** file name, '' for a folder request */ file: string }
  | { ok: false; status: 400 | 403 | 414; reason: string };

/** Splits and checks a URL path (before its query). Nothing here touches the filesystem. */
export function splitPath(urlPath: string): SplitPath {
  if (urlPath.length > MAX_URL_LENGTH) return { ok: false, status: 414, reason: 'URL too long' };
  if (!urlPath.startsWith('/')) return { ok: false, status: 400, reason: 'not an absolute path' };
  const segments: string[] = [];
  const raw = urlPath.split('/');
  for (let i = 1; i < raw.length; i++) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw[i]!);
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding' };
    }
    // decoded: %2e%2e is '..', %2f a slash inside a segment, %00 a NUL; all are refused, never resolved
    if (segment.includes('\0') || segment.includes('/') || segment.includes('\\'))
      return { ok: false, status: 400, reason: 'forbidden character in path' };
    if (segment === '..') return { ok: false, status: 403, reason: 'path escapes the application folder' };
    if (segment === '.' || (segment === '' && i < raw.length - 1)) continue;
    segments.push(segment);
  }
  const folder = urlPath.endsWith('/') || segments.length === 0;
  const file = folder ? '' : segments.pop()!;
  if (folder && segments.at(-1) === '') segments.pop();
  return { ok: true, path: segments.join('/'), file };
}

export function contentType(file: string): string {
  const ext = extname(file).slice(1).toLowerCase();
  return CONTENT_TYPES[ext] ?? (ext === '' ? 'text/plain; charset=utf-8' : DEFAULT_CONTENT_TYPE);
}

export function isTextType(type: string): boolean {
  return type.startsWith('text/') || type.startsWith('application/javascript') || type === 'application/json' || type === 'image/svg+xml';
}

/** Scripts are the application's code: never served, whatever their case. */
export function isScript(file: string): boolean {
  return file.toLowerCase().endsWith('.lua');
}

const SMALL_FILE = 64 * 1024;

export type Located =
  { kind: 'file'; path: string; stat: Stats } | { kind: 'folder'; path: string } | { kind: 'missing' } | { kind: 'forbidden' };

/** Real paths of the www folders served (they do not move while the server runs). */
const realRoots = new Map<string, Promise<string>>();

/**
 * What locate() and small files' bytes were a moment ago: a busy page costs a few filesystem calls per second,
 * not per request. A changed file is seen within CACHE_MS.
 */
const CACHE_MS = 1_000;
const CACHE_SIZE = 1024;
const located = new Map<string, { at: number; result: Located }>();
const bodies = new Map<string, { at: number; body: Buffer }>();

function cached<T>(cache: Map<string, { at: number } & T>, key: string): T | undefined {
  const hit = cache.get(key);
  if (!hit) return undefined;
  if (performance.now() - hit.at < CACHE_MS) return hit;
  cache.delete(key);
  return undefined;
}

function remember<T>(cache: Map<string, { at: number } & T>, key: string, value: T): void {
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(key, { at: performance.now(), ...value });
}

/** `www/<path>/<file>`, only if its real path (symlinks followed) is still inside www. */
export async function locate(www: string, path: string, file: string): Promise<Located> {
  const target = join(www, ...(path === '' ? [] : path.split('/')), file);
  if (target !== www && !target.startsWith(www + sep)) return { kind: 'forbidden' };
  const hit = cached(located, target);
  if (hit) return hit.result;
  const result = await locateNow(www, target);
  remember(located, target, { result });
  return result;
}

async function locateNow(www: string, target: string): Promise<Located> {
  let root = realRoots.get(www);
  if (!root) {
    root = fs.realpath(www);
    realRoots.set(www, root);
    root.catch(() => realRoots.delete(www));
  }
  let real: string;
  let realWww: string;
  try {
    [real, realWww] = await Promise.all([fs.realpath(target), root]);
  } catch {
    return { kind: 'missing' };
  }
  if (real !== realWww && !real.startsWith(realWww + sep)) return { kind: 'forbidden' };
  if (isScript(real)) return { kind: 'forbidden' };
  const stat = await fs.stat(real).catch(() => undefined);
  if (!stat) return { kind: 'missing' };
  if (stat.isDirectory()) return { kind: 'folder', path: real };
  if (!stat.isFile()) return { kind: 'forbidden' };
  return { kind: 'file', path: real, stat };
}

export function etagOf(stat: Stats): string {
  return `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
}

/** RFC 9110 §13.1.2 (weak comparison) and §13.1.3: If-None-Match wins over If-Modified-Since. */
export function notModified(req: IncomingMessage, stat: Stats, etag: string): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''));
  }
  const since = req.headers['if-modified-since'];
  if (since === undefined) return false;
  const time = Date.parse(since);
  return Number.isFinite(time) && Math.floor(stat.mtimeMs / 1000) * 1000 <= time;
}

/** A single `bytes=` range (RFC 9110 §14.1.2); 'none' to send it all, 'unsatisfiable' for a 416. */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'none' | 'unsatisfiable' {
  if (header === undefined) return 'none';
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // several ranges or another unit: served whole, as RFC 9110 §14.2 allows
  if (!match || (match[1] === '' && match[2] === '')) return 'none';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** `<% key %>` replaced by the script's values (MonaServer §2.4); unknown keys become empty. */
export function fillTemplate(text: string, parameters: Record<string, unknown>): string {
  return text.replace(/<%\s*([^%\s]+)\s*%>/g, (_all, key: string) => {
    const value = Object.prototype.hasOwnProperty.call(parameters, key) ? parameters[key] : undefined;
    return value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

/** Sends one file: 200, 206, 304 or 416; HEAD gets the same headers without the body. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  stat: Stats,
  parameters?: Record<string, unknown>,
): Promise<void> {
  const type = contentType(file);
  const head = req.method === 'HEAD';
  if (parameters && isTextType(type)) {
    // generated content: no validators, since the bytes are not the file's
    const body = Buffer.from(fillTemplate(await fs.readFile(file, 'utf8'), parameters));
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
    res.end(head ? undefined : body);
    return;
  }
  const etag = etagOf(stat);
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Last-Modified': stat.mtime.toUTCString(),
    ETag: etag,
    'Accept-Ranges': 'bytes',
  };
  if (notModified(req, stat, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const range =
    ifRange !== undefined && ifRange !== etag && ifRange !== headers['Last-Modified'] ? 'none' : byteRange(req.headers.range, stat.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${stat.size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const start = range === 'none' ? 0 : range.start;
  const end = range === 'none' ? stat.size - 1 : range.end;
  if (range !== 'none') headers['Content-Range'] = `bytes ${start}-${end}/${stat.size}`;
  headers['Content-Length'] = Math.max(0, end - start + 1);
  res.writeHead(range === 'none' ? 200 : 206, headers);
  if (head || stat.size === 0) {
    res.end();
    return;
  }
  // a small file in one read and one write; larger ones streamed with back-pressure
  if (stat.size <= SMALL_FILE) {
    const key = `${file}\0${stat.size}\0${stat.mtimeMs}`;
    let body = cached(bodies, key)?.body;
    if (!body) {
      body = await fs.readFile(file);
      remember(bodies, key, { body });
    }
    res.end(body.subarray(start, end + 1));
    return;
  }
  await pipeline(createReadStream(file, { start, end }), res);
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes}`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)}k`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${(bytes / 1024 ** 3).toFixed(1)}G`;
}

/**
 * MonaServer's folder listing (§2.3): a Parent link below the root, folders first, sorted by name, modification
 * time or size (`?N=`, `?M=`, `?S=` with `A` or `D`). Scripts are not listed, as they are not served.
 */
export async function listing(folder: string, urlPath: string, query: string): Promise<string> {
  const entries = await fs.readdir(folder, { withFileTypes: true });
  const rows: Array<{ name: string; dir: boolean; mtime: number; size: number }> = [];
  for (const entry of entries.slice(0, 10_000)) {
    if (isScript(entry.name)) continue;
    const stat = await fs.stat(join(folder, entry.name)).catch(() => undefined);
    if (!stat || (!stat.isDirectory() && !stat.isFile())) continue;
    rows.push({ name: entry.name, dir: stat.isDirectory(), mtime: stat.mtimeMs, size: stat.isDirectory() ? 0 : stat.size });
  }
  const sort = /^(?:([NMS])=([AD]))/.exec(query);
  const key = sort?.[1] ?? 'N';
  const sign = sort?.[2] === 'D' ? -1 : 1;
  rows.sort((a, b) => {
    if (a.dir !== b.dir) return a.dir ? -1 : 1;
    const by = key === 'M' ? a.mtime - b.mtime : key === 'S' ? a.size - b.size : a.name.localeCompare(b.name);
    return sign * by;
  });
  const title = `Index of ${escapeHtml(urlPath)}`;
  const lines = rows.map((row) => {
    const href = encodeURIComponent(row.name) + (row.dir ? '/' : '');
    const time = new Date(row.mtime).toUTCString();
    return `<tr><td><a href="${href}">${escapeHtml(row.name)}${row.dir ? '/' : ''}</a></td><td>${time}</td><td>${row.dir ? '-' : size(row.size)}</td></tr>`;
  });
  const parent = urlPath === '/' ? '' : '<tr><td><a href="../">Parent Directory</a></td><td></td><td>-</td></tr>';
  const flip = (k: string) => (key === k && sign === 1 ? 'D' : 'A');
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>` +
    `<table><tr><th><a href="?N=${flip('N')}">Name</a></th><th><a href="?M=${flip('M')}">Modified</a></th><th><a href="?S=${flip('S')}">Size</a></th></tr>` +
    `${parent}${lines.join('')}</table></body></html>`
  );
}

/** MonaServer's error page (§2.7): the status and reason as title and heading, the message, the server line. */
export function errorPage(status: number, reason: string, message: string, host: string): string {
  return (
    `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head><title>${status} ${escapeHtml(reason)}</title></head>` +
    `<body><h1>${status} ${escapeHtml(reason)}</h1><p>${escapeHtml(message)}</p><hr><address>Mona Server at ${escapeHtml(host)}</address></body></html>`
  );
}
