// The built-in inspector: an HTTP server for the page (src/inspector/page/, served from here, nothing from
// the internet) and a WebSocket per page for the live tree, the statecharts and the event feed. Its timers
// run only while a page is connected; the registry meanwhile only notes actors being created and ending.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { Logger } from '../log.ts';
import { FeedSubscriber, type FeedEntry, type FeedFilter } from './feed.ts';
import { activeStateIds, machineGraph, type MachineGraph } from './graph.ts';
import { acquireRegistry, releaseRegistry, type ActorEntry, type ActorRegistry } from './registry.ts';
import { statechartSvg } from './svg.ts';
import { buildTree, type InspectorHost } from './tree.ts';
import { nextMoves } from './next.ts';
import type { StreamRow } from './streams.ts';

export interface InspectorOptions {
  host: string;
  port: number;
  /** required as ?token= in the page URL and the WebSocket URL when not empty */
  token: string;
  logger: Logger;
  /** the process-wide registry unless a test provides its own */
  registry?: ActorRegistry;
  /** more HTTP routes (/metrics, /api/v1/...: src/inspector/metrics.ts, api.ts), tried in order before 404 */
  routes?: InspectorRoute[];
}

/** An HTTP route of the inspector's server; access is checked before (token, loopback names, same origin for POST). */
export interface InspectorRoute {
  /** true when it answered the request */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  close?(): void;
}

/** The InspectorHost plus what the inspector needs once per tick. */
export interface InspectedServer extends InspectorHost {
  refresh(entries: Iterable<ActorEntry>): void;
  owns(entry: ActorEntry): boolean;
  /** publications with their publisher and listeners */
  streams(): StreamRow[];
}

/** Messages a page sends. */
type PageMessage =
  | { t: 'hello'; since?: number }
  | { t: 'filter'; filter: FeedFilter }
  | { t: 'select'; key: string | null }
  | { t: 'expand'; key: string; open: boolean }
  | { t: 'feed'; timers?: boolean; types?: string[] };

/** Most nodes a page may keep expanded (each is a key string). */
const MAX_EXPANDED = 1000;
const ENTRY_TYPES = new Set(['created', 'event', 'state', 'ended']);

const TREE_INTERVAL_MS = 1_000;
const FEED_INTERVAL_MS = 250;
/** A page whose socket holds more than this unsent is skipped: its entries drop and are counted. */
const MAX_BUFFERED = 1 << 20;
const HISTORY = 200;

const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

interface Page {
  socket: WebSocket;
  subscriber: FeedSubscriber;
  unsubscribe: () => void;
  filter: FeedFilter;
  selected: string | null;
  /** machine ids whose chart the page already has */
  charts: Set<string>;
  dropped: number;
  /** nodes whose children the page lists */
  expanded: Set<string>;
  /** which feed entries the page wants: timer ticks are hidden unless asked for */
  feed: Pick<FeedFilter, 'timers' | 'types'>;
}

export class Inspector {
  readonly registry: ActorRegistry;
  private readonly options: InspectorOptions;
  private readonly host: InspectedServer;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly pages = new Set<Page>();
  private readonly files = new Map<string, Buffer>();
  private readonly ownRegistry: boolean;
  private treeTimer: ReturnType<typeof setInterval> | undefined;
  private feedTimer: ReturnType<typeof setInterval> | undefined;

  constructor(host: InspectedServer, options: InspectorOptions) {
    this.host = host;
    this.options = options;
    this.ownRegistry = options.registry === undefined;
    this.registry = options.registry ?? acquireRegistry();
    for (const file of new Set(Object.values(PAGE_FILES))) {
      this.files.set(file, readFileSync(new URL(`./page/${file}`, import.meta.url)));
    }
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    this.http.on('upgrade', (req, socket, head) => {
      if (!this.allowed(req) || new URL(req.url ?? '/', 'http://x').pathname !== '/ws' || !this.sameOrigin(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onPage(ws));
    });
  }

  get address(): { host: string; port: number } {
    const info = this.http.address() as AddressInfo | null;
    return { host: info?.address ?? this.options.host, port: info?.port ?? this.options.port };
  }

  /** The page's URL, token included. */
  get url(): string {
    const { host, port } = this.address;
    const name = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    return `http://${name}:${port}/${this.options.token ? `?token=${encodeURIComponent(this.options.token)}` : ''}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.options.logger.note({ url: this.url }, 'inspector listening');
  }

  async close(): Promise<void> {
    this.stopTimers();
    for (const route of this.options.routes ?? []) route.close?.();
    for (const page of this.pages) page.socket.terminate();
    this.pages.clear();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    if (this.ownRegistry) releaseRegistry();
  }

  // HTTP -------------------------------------------------------------------------------------------------
  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = PAGE_FILES[url.pathname];
    const isPage = file === 'index.html';
    if ((isPage || url.pathname.startsWith('/api/') || url.pathname === '/metrics') && !this.allowed(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('inspector token required: open the URL the server logged\n');
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    // an action from a page of another site (a form posted to 127.0.0.1) is refused: its Origin is not ours
    if (req.method !== 'GET' && req.method !== 'HEAD' && !this.sameOrigin(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('cross-origin request refused\n');
      return;
    }
    if (file) {
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()!]!, 'cache-control': 'no-store' }).end(this.files.get(file));
      return;
    }
    if (url.pathname === '/api/tree') {
      this.registry.refresh();
      this.host.refresh(this.registry.values());
      const filter: FeedFilter = {
        text: url.searchParams.get('text') ?? undefined,
        state: url.searchParams.get('state') ?? undefined,
        kind: url.searchParams.get('kind') ?? undefined,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(buildTree(this.registry, this.host, filter)));
      return;
    }
    for (const route of this.options.routes ?? []) if (route.handle(req, res, url)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  /** Token when one is configured; otherwise only hosts named by address or "localhost" (DNS rebinding). */
  private allowed(req: IncomingMessage): boolean {
    const token = this.options.token;
    if (token) {
      // ?token= as the page URL carries it, or Authorization: Bearer as a Prometheus scraper sends it
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const given = Buffer.from(bearer ?? new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '');
      const expected = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return hostname === 'localhost' || isIP(hostname) !== 0;
  }

  /** A browser page from another site must not read the feed: its Origin would differ from our Host. */
  private sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  // Pages ------------------------------------------------------------------------------------------------
  private onPage(socket: WebSocket): void {
    const subscriber = new FeedSubscriber({}, 2_000);
    const page: Page = {
      socket,
      subscriber,
      unsubscribe: () => {},
      filter: {},
      selected: null,
      charts: new Set(),
      dropped: 0,
      expanded: new Set(),
      feed: { timers: false },
    };
    subscriber.filter = { timers: false };
    this.pages.add(page);
    page.unsubscribe = this.registry.feed.subscribe(subscriber);
    this.registry.refresh();
    this.startTimers();
    socket.on('message', (data) => {
      try {
        this.onPageMessage(page, JSON.parse(String(data)) as PageMessage);
      } catch {
        // a malformed message from a page is ignored
      }
    });
    socket.on('close', () => {
      page.unsubscribe();
      this.pages.delete(page);
      if (this.pages.size === 0) this.stopTimers();
    });
    socket.on('error', () => socket.terminate());
  }

  private onPageMessage(page: Page, message: PageMessage): void {
    switch (message.t) {
      case 'hello': {
        // a page reconnecting says what it saw last: it gets what it missed, or how much it cannot get back
        const replay = this.registry.feed.since(message.since ?? 0, page.subscriber.filter, HISTORY);
        this.send(page, {
          t: 'events',
          entries: this.owned(replay.entries),
          dropped: 0,
          missed: replay.missed,
          last: this.registry.feed.lastSeq,
        });
        this.sendTree(page);
        return;
      }
      case 'filter':
        page.filter = cleanFilter(message.filter);
        this.updateSubscription(page);
        this.sendTree(page);
        return;
      case 'select':
        page.selected = typeof message.key === 'string' ? message.key : null;
        this.updateSubscription(page);
        this.sendHistory(page);
        this.sendTree(page);
        return;
      case 'expand':
        if (typeof message.key !== 'string') return;
        if (message.open && page.expanded.size < MAX_EXPANDED) page.expanded.add(message.key);
        else page.expanded.delete(message.key);
        this.sendTree(page);
        return;
      case 'feed': {
        const types = Array.isArray(message.types) ? message.types.filter((t) => ENTRY_TYPES.has(t)) : undefined;
        page.feed = { timers: message.timers === true, types: types as FeedFilter['types'] };
        this.updateSubscription(page);
        this.sendHistory(page);
        return;
      }
      default:
        return;
    }
  }

  /** A selected actor's events, otherwise those of every actor the filter lets through. */
  private updateSubscription(page: Page): void {
    page.subscriber.filter = { ...(page.selected ? { actor: page.selected } : page.filter), ...page.feed };
    page.subscriber.take();
  }

  private sendHistory(page: Page): void {
    const replay = this.registry.feed.since(0, page.subscriber.filter, HISTORY);
    this.send(page, {
      t: 'events',
      entries: this.owned(replay.entries),
      dropped: 0,
      missed: 0,
      reset: true,
      last: this.registry.feed.lastSeq,
    });
  }

  private startTimers(): void {
    if (this.treeTimer) return;
    this.treeTimer = setInterval(() => this.tick(), TREE_INTERVAL_MS);
    this.feedTimer = setInterval(() => this.flushFeed(), FEED_INTERVAL_MS);
    this.treeTimer.unref();
    this.feedTimer.unref();
  }

  private stopTimers(): void {
    clearInterval(this.treeTimer);
    clearInterval(this.feedTimer);
    this.treeTimer = undefined;
    this.feedTimer = undefined;
  }

  private tick(): void {
    this.registry.refresh();
    for (const page of this.pages) this.sendTree(page);
  }

  private flushFeed(): void {
    for (const page of this.pages) {
      const { entries, dropped } = page.subscriber.take();
      page.dropped += dropped;
      if (entries.length === 0 && page.dropped === 0) continue;
      if (page.socket.bufferedAmount > MAX_BUFFERED) {
        page.dropped += entries.length;
        continue;
      }
      this.send(page, { t: 'events', entries: this.owned(entries), dropped: page.dropped, missed: 0, last: this.registry.feed.lastSeq });
      page.dropped = 0;
    }
  }

  private owned(entries: FeedEntry[]): FeedEntry[] {
    return entries.filter((e) => {
      const entry = this.registry.get(e.actor);
      return entry !== undefined && this.host.owns(entry);
    });
  }

  private sendTree(page: Page): void {
    if (page.socket.bufferedAmount > MAX_BUFFERED) return; // the next tick carries the same information
    this.host.refresh(this.registry.values());
    const view = buildTree(this.registry, this.host, page.filter, { selected: page.selected ?? undefined, expanded: page.expanded });
    let selected: unknown = null;
    const entry = page.selected ? this.registry.get(page.selected) : undefined;
    if (entry && this.host.owns(entry)) {
      const machine = (entry.ref as { logic?: unknown }).logic;
      const graph = isMachine(machine) ? machineGraph(machine) : undefined;
      if (graph && !page.charts.has(graph.id)) {
        page.charts.add(graph.id);
        this.send(page, { t: 'chart', machine: graph.id, svg: statechartSvg(graph), transitions: transitionsOf(graph) });
      }
      const snapshot = entry.ref.getSnapshot() as AnyMachineSnapshot;
      const active = graph ? activeStateIds(graph.id, snapshot.value) : [];
      selected = {
        key: entry.key,
        name: entry.name,
        kind: entry.kind,
        machine: graph?.id ?? null,
        active,
        next: graph && isMachine(machine) ? nextMoves(machine, snapshot, graph, active) : [],
      };
    }
    this.send(page, { t: 'tree', view, selected, streams: this.host.streams() });
  }

  private send(page: Page, message: unknown): void {
    if (page.socket.readyState === page.socket.OPEN) page.socket.send(JSON.stringify(message));
  }
}

function isMachine(value: unknown): value is AnyStateMachine {
  return typeof value === 'object' && value !== null && 'root' in value && 'config' in value;
}

/** Transitions by source state, for the page's "what can happen next" list. */
function transitionsOf(graph: MachineGraph): Array<{ source: string; event: string; guard: string | null; targets: string[] }> {
  const out: Array<{ source: string; event: string; guard: string | null; targets: string[] }> = [];
  const walk = (node: MachineGraph['root']): void => {
    for (const t of node.transitions) out.push({ source: t.source, event: t.event, guard: t.guard ?? null, targets: t.targets });
    node.children.forEach(walk);
  };
  walk(graph.root);
  return out;
}

function cleanFilter(filter: FeedFilter | undefined): FeedFilter {
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim().slice(0, 200) : undefined);
  return { text: text(filter?.text), state: text(filter?.state), kind: text(filter?.kind) };
}
