// P2P rendezvous (RTMFP.md §6.2–6.4): peer A asks the server for peer B with an IHello whose EPD is
// `21 0f <B's peer id>`. When B is connected here, B gets a Forwarded IHello (0x0f) inside its session with
// one of A's addresses (B then sends its RHello there, opening its NAT towards A) and A gets a Redirect
// (0x71) listing B's addresses (A then sends its IHello there). Plain code: no I/O happens here, the
// supervisor sends what `introduce` decides.
import type { Clock } from '../../clock.ts';
import { ByteWriter, hex } from '../../bytes.ts';
import { CHUNK, type FIHelloChunk } from './wire/chunks.ts';
import { writeOption, type RTMFPOption } from './wire/options.ts';
import { ORIGIN, addressFrom, parseAddress, type AddressOrigin, type RTMFPAddress } from './wire/address.ts';
import type { Endpoint } from './session/session.ts';

/** EPD option type of a peer id (RFC 7425 §4.4.4, "fingerprint"). */
export const EPD_PEER_ID = 0x0f;
export const PEER_ID_SIZE = 32;

/** What the rendezvous needs to know of a connected peer (ServerClient fits). */
export interface RendezvousPeer {
  readonly rawId: Uint8Array;
  /** setPeerInfo addresses, "host:port" as the client wrote them */
  readonly peerAddresses: readonly string[];
  readonly session: { readonly address: Endpoint; readonly usable: boolean };
}

/** `21 0f <peer id>`: the canonical EPD of a peer. */
export function peerEpd(peerId: Uint8Array): Uint8Array {
  const w = new ByteWriter(2 + peerId.length);
  writeOption(w, EPD_PEER_ID, peerId);
  return w.bytes();
}

/** The peer id an EPD asks for, or undefined when it is not a peer-id EPD (a URL, a hostname). */
export function epdPeerId(epd: readonly RTMFPOption[]): Uint8Array | undefined {
  for (const option of epd) if (option.type === EPD_PEER_ID && option.value.length === PEER_ID_SIZE) return option.value;
  return undefined;
}

/**
 * Where a peer can be reached: the address the server sees (origin 2, "public") first, then its setPeerInfo
 * addresses (origin 1, "local"), unparsable ones and repeats left out.
 */
export function candidateAddresses(peer: RendezvousPeer): RTMFPAddress[] {
  const out: RTMFPAddress[] = [];
  const seen = new Set<string>();
  const add = (address: RTMFPAddress | null): void => {
    if (!address) return;
    const key = `${address.host}|${address.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(address);
  };
  add(addressFrom(peer.session.address.host, peer.session.address.port, ORIGIN.PUBLIC));
  for (const text of peer.peerAddresses) add(parseAddress(text, ORIGIN.LOCAL));
  return out;
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.host}|${endpoint.port}`;
}

/** Connected peers by peer id and by the address the server sees them at (RTMFP.md §6.1). */
export class PeerIndex<P extends RendezvousPeer> {
  private readonly byId = new Map<string, P>();
  private readonly byAddress = new Map<string, P>();

  get size(): number {
    return this.byId.size;
  }

  /** A peer whose keys are known. A later session with the same peer id (a reconnection) takes the entry. */
  add(peer: P): void {
    this.byId.set(hex(peer.rawId), peer);
    this.byAddress.set(endpointKey(peer.session.address), peer);
  }

  remove(peer: P): void {
    const id = hex(peer.rawId);
    if (this.byId.get(id) === peer) this.byId.delete(id);
    const key = endpointKey(peer.session.address);
    if (this.byAddress.get(key) === peer) this.byAddress.delete(key);
  }

  /** The peer's session now comes from another address (mobility). */
  moved(peer: P, previous: Endpoint): void {
    const key = endpointKey(previous);
    if (this.byAddress.get(key) === peer) this.byAddress.delete(key);
    this.byAddress.set(endpointKey(peer.session.address), peer);
  }

  byPeerId(peerId: Uint8Array): P | undefined {
    return this.byId.get(hex(peerId));
  }

  byEndpoint(endpoint: Endpoint): P | undefined {
    const peer = this.byAddress.get(endpointKey(endpoint));
    // an entry can only go stale through a missed `moved`; never introduce the wrong peer
    if (peer && endpointKey(peer.session.address) !== endpointKey(endpoint)) return undefined;
    return peer;
  }
}

export interface AttemptCounterOptions {
  clock: Clock;
  /** entries kept at most (the oldest go first): a flood of tags costs bounded memory */
  capacity?: number;
  /** an attempt older than this starts the count again (a client retries for about 95 s) */
  lifetimeMs?: number;
}

/** IHellos seen per tag: onHandshake's `attempts` and the rotation of rendezvous addresses. */
export class AttemptCounter {
  private readonly clock: Clock;
  private readonly capacity: number;
  private readonly lifetimeMs: number;
  /** insertion order = order of the last attempt, so the first entries are the stalest */
  private readonly entries = new Map<string, { count: number; at: number }>();

  constructor(options: AttemptCounterOptions) {
    this.clock = options.clock;
    this.capacity = options.capacity ?? 10_000;
    this.lifetimeMs = options.lifetimeMs ?? 120_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Count one more IHello with this tag: 1 for the first. */
  count(tag: Uint8Array): number {
    const key = hex(tag);
    const now = this.clock.now();
    const entry = this.entries.get(key);
    let count = 1;
    if (entry) {
      this.entries.delete(key);
      if (now - entry.at <= this.lifetimeMs) count = entry.count + 1;
    } else if (this.entries.size >= this.capacity) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, { count, at: now });
    return count;
  }

  expire(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.at <= this.lifetimeMs) break;
      this.entries.delete(key);
    }
  }
}

export interface Introduction<P extends RendezvousPeer> {
  target: P;
  /** for the target, inside its session */
  forward: FIHelloChunk;
  /** for the requester, in a startup packet */
  redirect: RTMFPAddress[];
}

/**
 * Which of A's addresses goes into B's FIHello (RTMFP.md §6.3). `times` counts A's earlier IHellos with
 * this tag. A first attempt between different public IPs uses the address the IHello came from; otherwise
 * successive attempts cycle through A's candidates, starting one further when A and B share a public IP
 * (they are likely on one LAN, where the private addresses are the ones that work).
 */
export function requesterAddress(
  from: Endpoint,
  requester: RendezvousPeer | undefined,
  target: RendezvousPeer,
  times: number,
): RTMFPAddress | null {
  const samePublicIp = from.host === target.session.address.host;
  const seen = addressFrom(from.host, from.port, ORIGIN.PUBLIC);
  if (times === 0 && !samePublicIp) return seen;
  const candidates = requester ? candidateAddresses(requester) : [];
  if (candidates.length === 0) return seen;
  const index = (samePublicIp ? times + 1 : times) % candidates.length;
  const chosen = candidates[index]!;
  const origin: AddressOrigin = index === 0 ? ORIGIN.PUBLIC : ORIGIN.LOCAL;
  return { ...chosen, origin };
}

/** The introduction of requester (at `from`) to `target`, or null when the target's session is going away. */
export function introduce<P extends RendezvousPeer>(
  target: P,
  requester: RendezvousPeer | undefined,
  from: Endpoint,
  tag: Uint8Array,
  attempts: number,
): Introduction<P> | null {
  if (!target.session.usable) return null;
  const reply = requesterAddress(from, requester, target, Math.max(0, attempts - 1));
  if (!reply) return null;
  const epdRaw = peerEpd(target.rawId);
  return {
    target,
    forward: {
      type: CHUNK.FIHELLO,
      epd: [{ type: EPD_PEER_ID, value: target.rawId }],
      epdRaw,
      replyAddress: reply,
      tag,
    },
    redirect: candidateAddresses(target),
  };
}

/**
 * Addresses an application returned (onHandshake, onRendezVousUnknown) as Redirect entries. They name
 * servers, not the peer, hence origin 3 (Mona; librtmfp sends its IHello to origin-3 addresses as to a
 * server). "again" stands for this server itself; entries that are not IP literals are dropped.
 */
export function redirectAddresses(returned: readonly string[], self: string): RTMFPAddress[] {
  const out: RTMFPAddress[] = [];
  const seen = new Set<string>();
  for (const text of returned) {
    const address = parseAddress(text === 'again' ? self : text, ORIGIN.RELAY);
    if (!address) continue;
    const key = `${address.host}|${address.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(address);
  }
  return out;
}
