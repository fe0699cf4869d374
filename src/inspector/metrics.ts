// GET /metrics on the inspector's HTTP server: Prometheus text format (prom-client), one registry per server.
// Events come from the diagnostics channels (src/core/diagnostics.ts): malformed input by cause, sessions
// opened and closed, publications, Lua errors. Levels (sessions by state, listeners, groups) and the running
// counters of live sessions are read when scraped, so the hot paths carry nothing for the metrics.
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  channels,
  type MalformedMessage,
  type PublicationMessage,
  type ScriptErrorMessage,
  type SessionMessage,
} from '../core/diagnostics.ts';
import type { Publication } from '../core/media/publication.ts';
import { sessionsOf, type ViewedServer } from './server-view.ts';

interface Traffic {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  retransmissions: number;
}

const ZERO: Traffic = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, retransmissions: 0 };

/** Counter whose value is read from the server at scrape time (a running total it already keeps). */
function readCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      read((labels, value) => this.inc(labels, value));
    },
  });
}

function readGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Gauge) {
      this.reset();
      read((labels, value) => this.set(labels, value));
    },
  });
}

export class Metrics {
  readonly registry = new Registry();
  private readonly server: ViewedServer;
  /** traffic of the sessions gone, by protocol: added when they close, so the totals never go back */
  private readonly closed = new Map<string, Traffic>();
  /** live sessions' own counters, by "protocol:id" */
  private readonly live = new Map<string, { protocol: string; stats: Traffic }>();
  /** media dropped by publications and listeners gone */
  private droppedFramesGone = 0;
  private droppedMessagesGone = 0;
  private readonly publications = new Map<string, Publication>();
  private readonly unsubscribers: Array<() => void> = [];
  private readonly sessionsOpened: Counter;
  private readonly sessionsClosed: Counter;
  private readonly malformed: Counter;
  private readonly published: Counter;
  private readonly luaErrors: Counter;

  constructor(server: ViewedServer) {
    this.server = server;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'nimbus_' });
    this.sessionsOpened = new Counter({
      name: 'nimbus_sessions_opened_total',
      help: 'Sessions opened (RTMFP keyed, RTMP accepted)',
      labelNames: ['protocol'],
      registers: [registry],
    });
    this.sessionsClosed = new Counter({
      name: 'nimbus_sessions_closed_total',
      help: 'Sessions closed, by reason',
      labelNames: ['protocol', 'reason'],
      registers: [registry],
    });
    this.malformed = new Counter({
      name: 'nimbus_malformed_total',
      help: 'Input dropped as malformed, by cause (docs/diagnostics.md)',
      labelNames: ['protocol', 'cause'],
      registers: [registry],
    });
    this.published = new Counter({ name: 'nimbus_publications_started_total', help: 'Publications started', registers: [registry] });
    this.luaErrors = new Counter({
      name: 'nimbus_lua_errors_total',
      help: 'Lua errors in applications, by level (warn: an error that is an answer)',
      labelNames: ['level'],
      registers: [registry],
    });

    readGauge(registry, 'nimbus_sessions', 'Sessions open now, by protocol and state', ['protocol', 'state'], (set) => {
      const counts = new Map<string, number>();
      for (const session of sessionsOf(this.server))
        counts.set(`${session.protocol}\0${session.state}`, (counts.get(`${session.protocol}\0${session.state}`) ?? 0) + 1);
      for (const [key, count] of counts) {
        const [protocol, state] = key.split('\0') as [string, string];
        set({ protocol, state }, count);
      }
    });
    readGauge(registry, 'nimbus_clients', 'Clients connected now (accepted by onConnection)', [], (set) =>
      set({}, this.server.core.clientCount),
    );
    readGauge(registry, 'nimbus_publications', 'Publications now', [], (set) => set({}, this.server.core.publications.count));
    readGauge(registry, 'nimbus_listeners', 'Listeners (subscribers) now', [], (set) => {
      let count = 0;
      for (const publication of this.server.core.publications) count += publication.listeners.size;
      set({}, count);
    });
    readGauge(registry, 'nimbus_groups', 'NetGroups now', [], (set) => set({}, this.server.rtmfp.groups.count));
    readCounter(registry, 'nimbus_handshakes_total', 'RTMFP handshakes answered', [], (set) => set({}, this.server.rtmfp.stats.handshakes));
    readCounter(
      registry,
      'nimbus_handshakes_refused_total',
      'RTMFP handshakes refused for want of room (server, half-open, cookie limits)',
      [],
      (set) => set({}, this.server.rtmfp.stats.refused),
    );
    readCounter(registry, 'nimbus_datagrams_in_total', 'UDP datagrams received by the RTMFP socket', [], (set) =>
      set({}, this.server.rtmfp.stats.datagramsIn),
    );
    readCounter(registry, 'nimbus_unknown_session_total', 'RTMFP datagrams for no known session (dropped)', [], (set) =>
      set({}, this.server.rtmfp.stats.unknownSession),
    );
    readCounter(registry, 'nimbus_blacklisted_total', 'Handshakes and connections from blacklisted hosts (dropped)', [], (set) =>
      set({}, this.server.rtmfp.stats.blacklisted + (this.server.rtmp?.stats.blacklisted ?? 0)),
    );
    const traffic = (key: keyof Traffic) => (set: (labels: Record<string, string>, value: number) => void) => {
      for (const [protocol, value] of this.totals()) set({ protocol }, value[key]);
    };
    const directed = (inKey: keyof Traffic, outKey: keyof Traffic) => (set: (labels: Record<string, string>, value: number) => void) => {
      for (const [protocol, value] of this.totals()) {
        set({ protocol, direction: 'in' }, value[inKey]);
        set({ protocol, direction: 'out' }, value[outKey]);
      }
    };
    readCounter(
      registry,
      'nimbus_bytes_total',
      'Session bytes, by protocol and direction',
      ['protocol', 'direction'],
      directed('bytesIn', 'bytesOut'),
    );
    readCounter(
      registry,
      'nimbus_packets_total',
      'RTMFP packets / RTMP messages (in only), by protocol and direction',
      ['protocol', 'direction'],
      directed('packetsIn', 'packetsOut'),
    );
    readCounter(registry, 'nimbus_retransmissions_total', 'RTMFP fragments sent again', ['protocol'], traffic('retransmissions'));
    readCounter(
      registry,
      'nimbus_dropped_media_total',
      'Media not relayed to a listener: video frames (waiting for a key frame, or congestion), audio messages (congestion)',
      ['kind'],
      (set) => {
        let frames = this.droppedFramesGone;
        let messages = this.droppedMessagesGone;
        for (const publication of this.server.core.publications) {
          frames += publication.droppedFrames;
          for (const listener of publication.listeners.values()) messages += listener.droppedMessages;
        }
        set({ kind: 'video-frames' }, frames);
        set({ kind: 'audio-messages' }, messages);
      },
    );

    // sessions already open: their own counters objects, read live like those opened from now on
    for (const [id, session] of server.rtmfp.sessions) this.live.set(`RTMFP:${id}`, { protocol: 'RTMFP', stats: session.stats });
    for (const id of server.rtmp?.connections.keys() ?? []) this.live.set(`RTMP:${id}`, { protocol: 'RTMP', stats: this.rtmpTraffic(id)! });
    this.subscribe(channels.sessionOpen.name as string, (message) => this.onSessionOpen(message as SessionMessage));
    this.subscribe(channels.sessionClose.name as string, (message) => this.onSessionClose(message as SessionMessage));
    this.subscribe(channels.malformed.name as string, (message) => {
      const { protocol, cause } = message as MalformedMessage;
      this.malformed.inc({ protocol, cause });
    });
    this.subscribe(channels.publish.name as string, (message) => {
      const { name } = message as PublicationMessage;
      const publication = this.server.core.publications.get(name);
      if (publication === undefined) return; // another server of the process
      this.published.inc();
      this.publications.set(name, publication);
    });
    this.subscribe(channels.unpublish.name as string, (message) => {
      const { name } = message as PublicationMessage;
      const publication = this.publications.get(name);
      if (!publication) return;
      this.publications.delete(name);
      this.droppedFramesGone += publication.droppedFrames;
      for (const listener of publication.listeners.values()) this.droppedMessagesGone += listener.droppedMessages;
    });
    this.subscribe(channels.scriptError.name as string, (message) => this.luaErrors.inc({ level: (message as ScriptErrorMessage).level }));
  }

  /** GET /metrics; true when it answered. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (url.pathname !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    this.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
    return true;
  }

  close(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.registry.clear();
  }

  private subscribe(name: string, handler: (message: unknown) => void): void {
    // a subscriber must never throw (it would surface as an uncaught exception): metrics are best effort
    const safe = (message: unknown): void => {
      try {
        handler(message);
      } catch {
        // counted nowhere: a broken metric must not break the server
      }
    };
    diagnostics.subscribe(name, safe);
    this.unsubscribers.push(() => diagnostics.unsubscribe(name, safe));
  }

  private onSessionOpen(message: SessionMessage): void {
    const stats =
      message.protocol === 'RTMFP'
        ? this.server.rtmfp.sessions.get(Number(message.id))?.stats
        : message.protocol === 'RTMP'
          ? this.rtmpTraffic(Number(message.id))
          : undefined;
    if (!stats) return; // another server of the process
    this.sessionsOpened.inc({ protocol: message.protocol });
    this.live.set(`${message.protocol}:${message.id}`, { protocol: message.protocol, stats });
  }

  private onSessionClose(message: SessionMessage): void {
    const key = `${message.protocol}:${message.id}`;
    const entry = this.live.get(key);
    if (!entry) return;
    this.live.delete(key);
    this.sessionsClosed.inc({ protocol: message.protocol, reason: reasonLabel(message.reason) });
    const total = this.closed.get(entry.protocol) ?? { ...ZERO };
    addTraffic(total, entry.stats);
    this.closed.set(entry.protocol, total);
  }

  /** An RTMP connection's counters seen as Traffic, read live through the connection's stats object. */
  private rtmpTraffic(id: number): Traffic | undefined {
    const connection = this.server.rtmp?.connections.get(id);
    if (!connection) return undefined;
    const stats = connection.stats;
    return {
      get bytesIn() {
        return stats.bytesIn;
      },
      get bytesOut() {
        return stats.bytesOut;
      },
      get packetsIn() {
        return stats.messagesIn;
      },
      packetsOut: 0,
      retransmissions: 0,
    };
  }

  private totals(): Map<string, Traffic> {
    const totals = new Map<string, Traffic>();
    for (const [protocol, traffic] of this.closed) totals.set(protocol, { ...traffic });
    for (const { protocol, stats } of this.live.values()) {
      const total = totals.get(protocol) ?? { ...ZERO };
      addTraffic(total, stats);
      totals.set(protocol, total);
    }
    return totals;
  }
}

function addTraffic(total: Traffic, stats: Traffic): void {
  total.bytesIn += stats.bytesIn;
  total.bytesOut += stats.bytesOut;
  total.packetsIn += stats.packetsIn;
  total.packetsOut += stats.packetsOut;
  total.retransmissions += stats.retransmissions;
}

/** Close reasons as a small label set: the fixed part before any detail ('main writer failed: …' → 'main writer failed'). */
function reasonLabel(reason: string | undefined): string {
  if (!reason) return 'unknown';
  const head = reason.split(':')[0]!;
  // a label set must stay small: free text (protocol errors with numbers, names) is 'other'
  return /^[A-Za-z ]{1,40}$/.test(head) ? head : 'other';
}
