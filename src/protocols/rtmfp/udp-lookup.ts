// The `lookup` of RTMFP's UDP sockets. dgram resolves the destination of every send() through dns.lookup,
// which answers an IP literal only on the next tick: a closure, a queued tick and a deferred send per
// datagram. Sessions always send to IP literals (the addresses datagrams came from), so those are answered
// at once and only a host name goes to DNS.
import { isIP } from 'node:net';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function literalFirstLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
