// RTMFP address (RFC 7016 §2.1.5): `flags u8 | 4 or 16 address bytes | u16 port`; flags 0x80 = IPv6,
// flags & 0x03 = origin. Hosts are kept as text because that is what sockets, Lua scripts and
// setPeerInfo strings use; the bytes are rebuilt only when an address goes on the wire.

import { isIPv4, isIPv6 } from 'node:net';
import { ByteReader, ByteWriter } from '../../../bytes.ts';
import { WireError } from '../../../errors.ts';

export type AddressOrigin = 0 | 1 | 2 | 3;

export const ORIGIN = { UNKNOWN: 0, LOCAL: 1, PUBLIC: 2, RELAY: 3 } as const;

export interface RTMFPAddress {
  host: string;
  port: number;
  family: 4 | 6;
  origin: AddressOrigin;
}

const FLAG_IPV6 = 0x80;

export function readAddress(r: ByteReader): RTMFPAddress {
  const flags = r.u8();
  const origin = (flags & 0x03) as AddressOrigin;
  if (flags & FLAG_IPV6) {
    const host = formatIPv6(r.read(16));
    return { host, port: r.u16(), family: 6, origin };
  }
  const b = r.read(4);
  const host = `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  return { host, port: r.u16(), family: 4, origin };
}

export function writeAddress(w: ByteWriter, a: RTMFPAddress): void {
  const bytes = a.family === 6 ? parseIPv6(a.host) : parseIPv4(a.host);
  if (!bytes) throw new WireError(`not an IPv${a.family} literal: ${a.host}`);
  w.u8((a.family === 6 ? FLAG_IPV6 : 0) | (a.origin & 0x03));
  w.write(bytes);
  w.u16(a.port);
}

/** Bytes writeAddress produces for `a`. */
export function addressSize(a: { family: 4 | 6 }): number {
  return a.family === 6 ? 19 : 7;
}

/**
 * "a.b.c.d:port" or "[v6]:port" → address; null for host names, missing or bad ports and anything else
 * that is not an IP literal (setPeerInfo strings come from the client and are not trusted).
 */
export function parseAddress(text: string, origin: AddressOrigin = 0): RTMFPAddress | null {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']:');
    if (close < 0) return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return null; // an IPv6 host needs brackets, or its port is ambiguous
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 0xffff) return null;
  return addressFrom(host, port, origin);
}

/**
 * A socket's view of a peer (dgram rinfo host and port) → address. IPv4-mapped IPv6 hosts
 * ("::ffff:1.2.3.4", as a dual-stack socket reports them) become plain IPv4, which is what the peer
 * itself can use. Null if `host` is not an IP literal or the port is out of range.
 */
export function addressFrom(host: string, port: number, origin: AddressOrigin = 0): RTMFPAddress | null {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return null;
  if (isIPv4(host)) {
    const bytes = parseIPv4(host);
    if (!bytes) return null;
    return { host: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`, port, family: 4, origin };
  }
  const zone = host.indexOf('%'); // scope IDs mean nothing to the far end
  const bare = zone < 0 ? host : host.slice(0, zone);
  const bytes = parseIPv6(bare);
  if (!bytes) return null;
  if (isMappedIPv4(bytes)) {
    return { host: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`, port, family: 4, origin };
  }
  return { host: formatIPv6(bytes), port, family: 6, origin };
}

/** "1.2.3.4:5", "[::1]:5". */
export function formatAddress(a: { host: string; port: number; family?: 4 | 6 }): string {
  const v6 = a.family === 6 || (a.family === undefined && a.host.includes(':'));
  return v6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function equalAddress(a: RTMFPAddress, b: RTMFPAddress): boolean {
  return a.port === b.port && a.family === b.family && a.host === b.host;
}

function parseIPv4(host: string): Uint8Array | null {
  if (!isIPv4(host)) return null;
  const parts = host.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseIPv6(host: string): Uint8Array | null {
  if (!isIPv6(host)) return null;
  let text = host;
  // A trailing dotted quad stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return null;
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (head.length + fill + tail.length !== 8 || fill < 0) return null;
  const out = new Uint8Array(16);
  let at = 0;
  const put = (g: number): void => {
    out[at++] = g >> 8;
    out[at++] = g & 0xff;
  };
  for (const g of head) put(parseInt(g, 16));
  for (let i = 0; i < fill; i++) put(0);
  for (const g of tail) put(parseInt(g, 16));
  return out;
}

function isMappedIPv4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** RFC 5952 text: lower case, longest run (≥ 2) of zero groups as "::", mapped IPv4 as a dotted quad. */
function formatIPv6(b: Uint8Array): string {
  if (isMappedIPv4(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hexes.join(':');
  return `${hexes.slice(0, bestAt).join(':')}::${hexes.slice(bestAt + bestLen).join(':')}`;
}
