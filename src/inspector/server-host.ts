// What the inspector shows about a server's actors. Sessions are read from the server's own map
// (a client running in the same process has session actors too, and they are not this server's);
// other kinds can add their numbers with provideFacts() from their own module.
import type { AnyActorRef } from 'xstate';
import type { Core } from '../core/core.ts';
import type { RtmfpServer } from '../protocols/rtmfp/server.ts';
import type { Session } from '../protocols/rtmfp/session/session.ts';
import { formatEndpoint } from '../protocols/rtmfp/client.ts';
import { hex } from '../bytes.ts';
import type { ActorEntry } from './registry.ts';
import { factsOf } from '../actors/observe.ts';
import type { ActorView, Facts, InspectorHost } from './tree.ts';
import type { ClientPort } from '../core/ports.ts';
import type { Listener } from '../core/media/publication.ts';
import type { ServerClient } from '../protocols/rtmfp/client.ts';
import { flowView, kbps, listenerView, RateMeter, writerRoles, writerView } from './views.ts';
import { streamRows, type StreamRow } from './streams.ts';

export { provideFacts, type FactsProvider } from '../actors/observe.ts';

/** Kinds that exist on both ends of a session: only the server's own are shown. */
const SESSION_BOUND = new Set(['session', 'flow', 'writer']);

export class ServerInspectorHost implements InspectorHost {
  private readonly core: Core;
  private readonly server: RtmfpServer;
  /** session actors of this server, remembered past the session's removal so its end stays visible */
  private readonly sessions = new WeakMap<AnyActorRef, Session>();
  private readonly sessionNames = new Set<string>();
  /** what flows, writers and listeners are, by actor: kept past their end so the last numbers stay */
  private readonly described = new WeakMap<AnyActorRef, () => ActorView>();
  /** client → "session:N", rebuilt per refresh */
  private readonly clientNames = new Map<ClientPort, string>();
  private readonly meter = new RateMeter();

  constructor(core: Core, rtmfp: RtmfpServer) {
    this.core = core;
    this.server = rtmfp;
  }

  summary(): Facts {
    const stats = this.server.stats;
    const { address, port } = this.server.address;
    return {
      address: `${address}:${port}`,
      sessions: this.server.sessions.size,
      clients: this.core.clientCount,
      publications: this.core.publications.count,
      uptime: Math.round((Date.now() - this.core.startTime) / 1000),
      datagramsIn: stats.datagramsIn,
      handshakes: stats.handshakes,
      sessionsOpened: stats.sessionsOpened,
      malformed: stats.malformed,
      unknownSession: stats.unknownSession,
      blacklisted: stats.blacklisted,
    };
  }

  /** Called once per tick before view(): learns which session actors (by name, for their flows) are this server's. */
  refresh(entries: Iterable<ActorEntry>): void {
    for (const session of this.server.sessions.values()) {
      if (!this.sessions.has(session.actor)) this.sessions.set(session.actor, session);
    }
    this.clientNames.clear();
    for (const [nearId, client] of this.server.clients) {
      const name = `session:${nearId}`;
      this.clientNames.set(client, name);
      this.describeSession(client.session ?? this.server.sessions.get(nearId), client);
    }
    for (const publication of this.core.publications) {
      for (const listener of publication.listeners.values()) this.describeListener(listener);
    }
    this.sessionNames.clear();
    for (const entry of entries) if (entry.kind === 'session' && this.sessions.has(entry.ref)) this.sessionNames.add(entry.name);
  }

  /** Whether a feed entry's actor is shown by this server (the registry is shared by the whole process). */
  owns(entry: ActorEntry): boolean {
    if (entry.kind === 'session') return this.sessions.has(entry.ref) || this.learnSession(entry.name, entry.ref);
    if (!SESSION_BOUND.has(entry.kind)) return true;
    const parent = entry.parent;
    return parent !== undefined && (this.sessionNames.has(parent) || this.learnSession(parent, undefined));
  }

  /**
   * A session that opened since the last refresh (its first events reach pages before the next tick): this
   * server's when its map holds a session of that number (with that very actor, when the actor is known).
   */
  private learnSession(name: string, ref: AnyActorRef | undefined): boolean {
    const session = this.server.sessions.get(Number(name.slice('session:'.length)));
    if (!session || !name.startsWith('session:') || (ref !== undefined && session.actor !== ref)) return false;
    this.sessions.set(session.actor, session);
    this.sessionNames.add(name);
    return true;
  }

  view(entry: ActorEntry): ActorView | undefined {
    if (entry.kind === 'session') {
      const session = this.sessions.get(entry.ref);
      return session ? this.sessionView(session) : undefined;
    }
    if (!this.owns(entry)) return undefined;
    const own = this.described.get(entry.ref)?.();
    if (own) return own;
    const provided = factsOf(entry.kind, entry.ref) ?? { label: '', facts: {} };
    // another protocol's connections (RTMP) count bytes too: their kbit/s, as sessions show theirs
    const { bytesIn, bytesOut } = provided.facts;
    if (typeof bytesIn === 'number' && typeof bytesOut === 'number') {
      const [rateIn, rateOut] = this.meter.rates(entry.ref, [bytesIn, bytesOut]);
      const facts = { ...provided.facts, kbpsIn: kbps(rateIn ?? 0), kbpsOut: kbps(rateOut ?? 0) };
      return { ...provided, facts, brief: `${provided.label} · ↓${facts.kbpsIn} ↑${facts.kbpsOut} kbit/s` };
    }
    return provided;
  }

  /** Each publication with its publisher and listeners (the stream view, and the JSON API). */
  streams(): StreamRow[] {
    return streamRows(this.core.publications, (client) => this.clientName(client));
  }

  private clientName(client: ClientPort | undefined): string {
    if (!client) return '';
    return this.clientNames.get(client) ?? `${client.protocol} ${client.address}`;
  }

  private describeSession(session: Session | undefined, client: ServerClient | undefined): void {
    if (!session) return;
    const { flows, writers } = session.inspect();
    for (const flow of flows) this.described.set(flow.actor, () => flowView(flow, client, this.meter));
    const roles = writerRoles(client);
    for (const writer of writers) {
      const role = roles.get(writer);
      if (!role && this.described.has(writer.actor)) continue;
      this.described.set(writer.actor, () => writerView(writer, role, client, this.meter));
    }
  }

  private describeListener(listener: Listener): void {
    this.described.set(listener.actor, () => listenerView(listener, this.clientName(listener.client)));
  }

  private sessionView(session: Session): ActorView {
    const client = this.server.clients.get(session.nearId);
    const peerId = session.peerId ? hex(session.peerId) : '';
    const address = formatEndpoint(session.address);
    const stats = session.stats;
    const described = session.describe();
    const facts: Facts = {
      address,
      peerId: peerId.slice(0, 16),
      path: client?.path ?? '',
      rtt: Math.round(session.srtt),
      // the congestion window (bytes) and effective retransmission timeout (ms) its writers share
      cwnd: session.congestion.cwnd,
      erto: Math.round(session.rto()),
      packetsIn: stats.packetsIn,
      packetsOut: stats.packetsOut,
      bytesIn: stats.bytesIn,
      bytesOut: stats.bytesOut,
      retransmissions: stats.retransmissions,
      loss: stats.packetsOut > 0 ? Math.round((stats.retransmissions / stats.packetsOut) * 1000) / 10 : 0,
      malformed: stats.malformed,
      flows: described.flows.length,
      writers: described.writers.length,
    };
    const [rateIn, rateOut] = this.meter.rates(session, [stats.bytesIn, stats.bytesOut]);
    facts.kbpsIn = kbps(rateIn ?? 0);
    facts.kbpsOut = kbps(rateOut ?? 0);
    const streams = [...(client?.netStreams.values() ?? [])]
      .map((s) => (s.publishing ? `publishes ${s.publishing.name}` : s.playing ? `plays ${s.playing.publication.name}` : ''))
      .filter(Boolean);
    return {
      label: `${address} ${peerId} ${client?.path ?? ''}`,
      brief: `${address} · ↓${facts.kbpsIn} ↑${facts.kbpsOut} kbit/s${streams.length ? ` · ${streams.join(', ')}` : ''}`,
      facts,
    };
  }
}
