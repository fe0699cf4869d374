// The application path and query of an RTMP connect (RTMP.md §5.2): from tcUrl (`rtmp://host:port/a/b?x=1`
// gives "a/b" and "x=1", as MonaServer-behaviour.md §4 reads it), `app` when tcUrl is missing.
import type { AMFValue } from '../../flash/amf/types.ts';

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
  const path = (mark >= 0 ? rest.slice(0, mark) : rest).replace(/^\/+|\/+$/g, '');
  return { path, query };
}
