// The application path and query a NetConnection `connect` asks for, read the same way over RTMFP and RTMP
// (RTMP.md §5.2, MonaServer-behaviour.md §4): from tcUrl (`rtmp://host:port/a/b?x=1` gives "a/b" and "x=1"),
// or from `app` when tcUrl is missing (librtmfp sends a bare path).
import { trimSlashes } from '../bytes.ts';
import type { AMFValue } from './amf/types.ts';

export function parseTcUrl(tcUrl: string, app: AMFValue): { path: string; query: string } {
  let rest = tcUrl;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    const slash = rest.indexOf('/');
    rest = slash >= 0 ? rest.slice(slash) : '';
  } else if (rest === '' && typeof app === 'string') {
    rest = app;
  }
  const mark = rest.indexOf('?');
  const query = mark >= 0 ? rest.slice(mark + 1) : '';
  // trimSlashes, not a /^\/+|\/+$/ regex: that one is quadratic on a hostile run of slashes
  const path = trimSlashes(mark >= 0 ? rest.slice(0, mark) : rest);
  return { path, query };
}
