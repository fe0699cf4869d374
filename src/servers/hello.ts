// What this server says about itself in its hello (MonaServer-behaviour.md §1.3): every configuration key as
// `section.key` (top-level keys bare), in byte order as MonaServer's std::map, plus `<protocol>.publicAddress`
// for each enabled protocol (where a peer redirects clients) and the Nimbus marker that turns pings on.
// Secrets stay home: no key named like a secret, token or password is ever sent.
import { NIMBUS_KEY, NIMBUS_LINK_VERSION } from './params.ts';

const PRIVATE = /secret|token|password/i;

export interface HelloFacts {
  /** the ini content, section → key → value ('' = top level) */
  raw: Record<string, Record<string, string>>;
  /** protocol → "host:port" clients are given, for each enabled protocol */
  publicAddresses: Record<string, string>;
}

export function helloPairs(facts: HelloFacts): Array<[string, string]> {
  const map = new Map<string, string>();
  for (const [section, keys] of Object.entries(facts.raw)) {
    for (const [key, value] of Object.entries(keys)) {
      const name = section === '' ? key : `${section}.${key}`;
      if (!PRIVATE.test(name)) map.set(name, value);
    }
  }
  for (const [protocol, address] of Object.entries(facts.publicAddresses)) map.set(`${protocol}.publicAddress`, address);
  map.set(NIMBUS_KEY, NIMBUS_LINK_VERSION);
  return [...map].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * The address given to clients of a protocol: the top-level `host` when set (its port, else the protocol's
 * port), else the protocol's own public address.
 */
export function publicAddressOf(publicHost: string, port: number, fallback: string): string {
  if (publicHost === '') return fallback;
  if (/^\[[^\]]+\]:\d+$/.test(publicHost) || /^[^:]+:\d+$/.test(publicHost)) return publicHost;
  return publicHost.includes(':') ? `[${publicHost}]:${port}` : `${publicHost}:${port}`;
}
