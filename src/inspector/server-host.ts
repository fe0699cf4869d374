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

export { provideFacts, type FactsProvider } from '../actors/observe.ts';

/** Kinds that exist on both ends of a session: only the server's own are shown. */
const SESSION_BOUND = new Set(['session', 'flow', 'writer']);

export class ServerInspectorHost implements InspectorHost {
  private readonly core: Core;
  private readonly server: RtmfpServer;
  /** session actors of this server, remembered past the session's removal so its end stays visible */
  private readonly sessions = new WeakMap<AnyActorRef, Session>();
  private readonly sessionNames = new Set<string>();

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
    this.sessionNames.clear();
    for (const entry of entries) if (entry.kind === 'session' && this.sessions.has(entry.ref)) this.sessionNames.add(entry.name);
  }

  /** Whether a feed entry's actor is shown by this server (the registry is shared by the whole process). */
  owns(entry: ActorEntry): boolean {
    if (entry.kind === 'session') return this.sessions.has(entry.ref);
    return !SESSION_BOUND.has(entry.kind) || (entry.parent !== undefined && this.sessionNames.has(entry.parent));
  }

  view(entry: ActorEntry): ActorView | undefined {
    if (entry.kind === 'session') {
      const session = this.sessions.get(entry.ref);
      return session ? this.sessionView(session) : undefined;
    }
    if (!this.owns(entry)) return undefined;
    return factsOf(entry.kind, entry.ref) ?? { label: '', facts: {} };
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
    return { label: `${address} ${peerId} ${client?.path ?? ''}`, facts };
  }
}
