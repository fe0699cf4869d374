// HTTP and WebSocket protocol parameters in one place, with where each comes from.
// HTTP semantics: RFC 9110; HTTP/1.1: RFC 9112; WebSocket: RFC 6455. MonaServer's own choices are cited
// from /work/shared/docs/MonaServer-behaviour.md (§2 HTTP, §3 WebSocket).

/**
 * Content types by extension. MonaServer answers `text/<ext>` for what it does not know (§2.5); browsers
 * need the registered types (RFC 6838 registry) for scripts, images, fonts and media, so those are used.
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'application/javascript; charset=utf-8',
  mjs: 'application/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain; charset=utf-8',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff: 'font/woff',
  woff2: 'font/woff2',
  wasm: 'application/wasm',
  swf: 'application/x-shockwave-flash',
  flv: 'video/x-flv',
  mp4: 'video/mp4',
  webm: 'video/webm',
  ts: 'video/mp2t',
  m3u: 'audio/x-mpegurl',
  m3u8: 'audio/x-mpegurl; charset=utf-8',
  mp3: 'audio/mpeg',
  pdf: 'application/pdf',
};

/** Neither a known type nor a text one: RFC 9110 §8.3 allows the recipient to sniff, we say "bytes". */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Server header, MonaServer's value (§2.7), so scripts and tools written for it see the same. */
export const SERVER_NAME = 'Mona';

/** The longest URL path accepted (before decoding); the application tree caps paths at 1024 too. */
export const MAX_URL_LENGTH = 8192;

/** Request headers in bytes (Node's --max-http-header-size default is 16 KiB). */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Bytes a streaming (HTTP-FLV or WebSocket-FLV) viewer may have waiting to be sent before it is dropped. */
export const MAX_VIEWER_BACKLOG = 2 * 1024 * 1024;

/** How long a viewer's backlog may stay above what the listener tolerates (256 KiB) before it is dropped. */
export const VIEWER_STALL_MS = 5_000;

/** WebSocket server pings every 40 s (MonaServer §3.4); the pong measures client.ping. */
export const WS_PING_MS = 40_000;

/** WebSocket close codes (RFC 6455 §7.4.1): 1002 is what MonaServer sends on an unknown method or a script error. */
export const WS_CLOSE = { NORMAL: 1000, GOING_AWAY: 1001, PROTOCOL_ERROR: 1002, TOO_BIG: 1009, INTERNAL: 1011 } as const;

/** A code a close frame may carry (RFC 6455 §7.4: 1000–1014 less the reserved 1004–1006, and 3000–4999). */
export function sendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999));
}

/** The one file served from outside www/: the player page's mpegts.js, from the installed package (no CDN). */
export const PLAYER_LIBRARY = { url: '/mpegts.js', module: 'mpegts.js/dist/mpegts.js' } as const;
