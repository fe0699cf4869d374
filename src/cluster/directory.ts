// The cluster-wide directory kept in Redis: which node holds a peer id, which peers are in a NetGroup, which
// node publishes a stream. Each node writes only its own entries and keeps a local copy of them, so a Redis
// restart costs a rebuild, not the service: client sessions never wait on Redis except a rendezvous for a
// peer this node does not hold. Liveness comes from the node registrations (params.ts), so an entry left by
// a crashed node is never an answer.
import { EventEmitter, once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';
import { ENTRY_TTL_S, HEARTBEAT_MS, LOOKUP_TIMEOUT_MS, NODE_TTL_MS, RECONNECT_MAX_MS, RECONNECT_STEP_MS } from './params.ts';

/** One node as the others see it. */
export interface NodeInfo {
  /** random per process start: a restarted node is a new node */
  id: string;
  name: string;
  region: string;
  /** where clients reach it ("host:port"), what a redirection sends them to */
  publicAddress: string;
  /** its server-link address ("host:port"), '' when it accepts no link */
  link: string;
}

export interface DirectoryOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS */
  url: string;
  self: NodeInfo;
  logger: Logger;
  /** the CA that signed Redis's certificate (rediss://), when not one the system trusts */
  ca?: Uint8Array;
  /** test hooks: shorter timings */
  heartbeatMs?: number;
  nodeTtlMs?: number;
}

/** Cluster events, published on one Redis channel and emitted locally. */
export type DirectoryEvent =
  | { type: 'group-join'; group: string; peer: string; node: string }
  | { type: 'group-leave'; group: string; peer: string; node: string }
  | { type: 'publish'; name: string; node: string }
  | { type: 'unpublish'; name: string; node: string };

export interface DirectoryEvents {
  /** a node registered (also every node found at start) */
  'node-up': [NodeInfo];
  /** a node's registration expired or it left */
  'node-down': [NodeInfo];
  /** another node's group or publication change */
  event: [DirectoryEvent];
  /** Redis reachable again and this node's entries written back */
  rebuilt: [];
}

const PREFIX = 'nimbus:';
const CHANNEL = `${PREFIX}events`;
/** start() waits this long for a first answer from Redis, then goes on without it */
const START_WAIT_MS = 2000;

export class Directory extends EventEmitter<DirectoryEvents> {
  readonly self: NodeInfo;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly nodeTtlMs: number;
  /** this node's own entries, written back whenever Redis comes back */
  private readonly peers = new Set<string>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly publications = new Set<string>();
  /** other live nodes by id, as of the last heartbeat */
  private readonly known = new Map<string, NodeInfo>();
  private timer: NodeJS.Timeout | undefined;
  /** 'up' once registered; logged once per change, never per command */
  private state: 'starting' | 'up' | 'down' = 'starting';
  private closed = false;

  constructor(options: DirectoryOptions) {
    super();
    this.self = options.self;
    this.logger = options.logger;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.nodeTtlMs = options.nodeTtlMs ?? NODE_TTL_MS;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      // a command while Redis is away fails at once: callers fall back to local service
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
      // rediss:// turns TLS on by itself; the CA is added to it (a plain redis:// URL with a CA also uses TLS)
      ...(options.ca ? { tls: { ca: Buffer.from(options.ca) } } : {}),
    };
    this.redis = new Redis(options.url, redisOptions);
    this.subscriber = new Redis(options.url, { ...redisOptions, enableOfflineQueue: true });
    this.redis.on('error', (error: Error) => this.down(error));
    this.redis.on('close', () => this.down(new Error('connection closed')));
    this.subscriber.on('error', () => undefined);
    this.redis.on('ready', () => void this.rebuild());
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
  }

  /**
   * Connects, registers this node and starts the heartbeat. Redis away at start is not fatal: local service
   * starts, and the node registers as soon as Redis answers (as after a Redis restart).
   */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
    const ready = once(this.redis, 'rebuilt-or-down');
    this.redis.connect().catch((error: Error) => this.down(error));
    this.subscriber.connect().catch(() => undefined);
    this.subscriber.subscribe(CHANNEL).catch(() => undefined);
    await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, START_WAIT_MS).unref())]);
  }

  /** Leaves the cluster: this node's entries are removed so the others see it gone at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.redis.status === 'ready') {
      try {
        const batch = this.redis.multi().zrem(`${PREFIX}nodes`, this.self.id).del(`${PREFIX}node:${this.self.id}`);
        for (const peer of this.peers) batch.del(`${PREFIX}peer:${peer}`);
        for (const [group, members] of this.groups) for (const peer of members) batch.hdel(`${PREFIX}group:${group}`, peer);
        for (const name of this.publications) batch.del(`${PREFIX}pub:${name}`);
        await batch.exec();
      } catch {
        // Redis went away meanwhile: the entries expire with the registration
      }
    }
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  /** Live nodes other than this one. */
  get nodes(): NodeInfo[] {
    return [...this.known.values()];
  }

  node(id: string): NodeInfo | undefined {
    return this.known.get(id);
  }

  addPeer(peer: string): void {
    this.peers.add(peer);
    this.write((r) => r.set(`${PREFIX}peer:${peer}`, this.self.id, 'EX', ENTRY_TTL_S));
  }

  removePeer(peer: string): void {
    if (!this.peers.delete(peer)) return;
    // only our own entry: the peer may have moved to another node meanwhile
    this.write((r) => r.eval(DELETE_IF_OWNER, 1, `${PREFIX}peer:${peer}`, this.self.id));
  }

  joinGroup(group: string, peer: string): void {
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Set()));
    members.add(peer);
    this.write((r) =>
      r
        .multi()
        .hset(`${PREFIX}group:${group}`, peer, this.self.id)
        .expire(`${PREFIX}group:${group}`, ENTRY_TTL_S)
        .publish(CHANNEL, JSON.stringify({ type: 'group-join', group, peer, node: this.self.id } satisfies DirectoryEvent))
        .exec(),
    );
  }

  leaveGroup(group: string, peer: string): void {
    const members = this.groups.get(group);
    if (!members?.delete(peer)) return;
    if (members.size === 0) this.groups.delete(group);
    this.write((r) =>
      r
        .multi()
        .hdel(`${PREFIX}group:${group}`, peer)
        .publish(CHANNEL, JSON.stringify({ type: 'group-leave', group, peer, node: this.self.id } satisfies DirectoryEvent))
        .exec(),
    );
  }

  publish(name: string): void {
    this.publications.add(name);
    this.write((r) =>
      r
        .multi()
        .set(`${PREFIX}pub:${name}`, this.self.id, 'EX', ENTRY_TTL_S)
        .publish(CHANNEL, JSON.stringify({ type: 'publish', name, node: this.self.id } satisfies DirectoryEvent))
        .exec(),
    );
  }

  unpublish(name: string): void {
    if (!this.publications.delete(name)) return;
    this.write((r) =>
      r
        .multi()
        .eval(DELETE_IF_OWNER, 1, `${PREFIX}pub:${name}`, this.self.id)
        .publish(CHANNEL, JSON.stringify({ type: 'unpublish', name, node: this.self.id } satisfies DirectoryEvent))
        .exec(),
    );
  }

  /** The live node (other than this one) holding a peer id, or undefined: unknown, dead node, or Redis away. */
  async locatePeer(peer: string): Promise<NodeInfo | undefined> {
    const id = await this.read((r) => r.get(`${PREFIX}peer:${peer}`));
    return id ? this.liveOther(id) : undefined;
  }

  /** The live node (other than this one) publishing a stream. */
  async originOf(name: string): Promise<NodeInfo | undefined> {
    const id = await this.read((r) => r.get(`${PREFIX}pub:${name}`));
    return id ? this.liveOther(id) : undefined;
  }

  /** Members of a group held by other live nodes: peer id → node. */
  async remoteMembers(group: string): Promise<Map<string, NodeInfo>> {
    const all = (await this.read((r) => r.hgetall(`${PREFIX}group:${group}`))) ?? {};
    const members = new Map<string, NodeInfo>();
    for (const [peer, id] of Object.entries(all)) {
      const node = this.liveOther(id);
      if (node) members.set(peer, node);
    }
    return members;
  }

  private liveOther(id: string): NodeInfo | undefined {
    return id === this.self.id ? undefined : this.known.get(id);
  }

  private async register(): Promise<void> {
    const expiry = Date.now() + this.nodeTtlMs;
    await this.redis
      .multi()
      .set(`${PREFIX}node:${this.self.id}`, JSON.stringify(this.self), 'PX', this.nodeTtlMs)
      .zadd(`${PREFIX}nodes`, expiry, this.self.id)
      .exec();
  }

  /** Refreshes this node, then compares the live nodes with those known: node-up / node-down. */
  private async heartbeat(): Promise<void> {
    if (this.closed || this.state !== 'up') return;
    try {
      await this.register();
      const now = Date.now();
      const [ids, expired] = await Promise.all([
        this.redis.zrangebyscore(`${PREFIX}nodes`, now, '+inf'),
        this.redis.zrangebyscore(`${PREFIX}nodes`, '-inf', now),
      ]);
      if (expired.length > 0) await this.redis.zremrangebyscore(`${PREFIX}nodes`, '-inf', now);
      const others = ids.filter((id) => id !== this.self.id);
      const fresh = others.filter((id) => !this.known.has(id));
      const infos = fresh.length > 0 ? await this.redis.mget(fresh.map((id) => `${PREFIX}node:${id}`)) : [];
      for (const [id, node] of this.known) {
        if (others.includes(id)) continue;
        this.known.delete(id);
        this.emit('node-down', node);
      }
      infos.forEach((text) => {
        const node = text ? parseNode(text) : undefined;
        if (!node || this.known.has(node.id)) return;
        this.known.set(node.id, node);
        this.emit('node-up', node);
      });
    } catch (error) {
      this.down(error as Error);
    }
  }

  /** Redis is back: register again, write back every entry of this node, then resume the heartbeat. */
  private async rebuild(): Promise<void> {
    if (this.closed) return;
    try {
      await this.register();
      const batch = this.redis.multi();
      for (const peer of this.peers) batch.set(`${PREFIX}peer:${peer}`, this.self.id, 'EX', ENTRY_TTL_S);
      for (const [group, members] of this.groups) {
        for (const peer of members) batch.hset(`${PREFIX}group:${group}`, peer, this.self.id);
        batch.expire(`${PREFIX}group:${group}`, ENTRY_TTL_S);
      }
      for (const name of this.publications) batch.set(`${PREFIX}pub:${name}`, this.self.id, 'EX', ENTRY_TTL_S);
      await batch.exec();
      const first = this.state === 'starting';
      this.up();
      await this.heartbeat();
      if (!first) {
        this.logger.info(
          { peers: this.peers.size, groups: this.groups.size, publications: this.publications.size },
          'cluster directory rebuilt',
        );
      }
      this.emit('rebuilt');
    } catch (error) {
      this.down(error as Error);
    }
    this.redis.emit('rebuilt-or-down');
  }

  private up(): void {
    if (this.state === 'up') return;
    this.logger.info({ node: this.self.id }, this.state === 'down' ? 'redis reachable again' : 'joined the cluster');
    this.state = 'up';
  }

  private down(error: Error): void {
    this.redis.emit('rebuilt-or-down');
    if (this.closed || this.state === 'down') return;
    this.state = 'down';
    this.logger.warn({ err: error.message }, 'redis unreachable: local service continues, the directory is rebuilt when it returns');
  }

  /** A write while Redis is away is dropped: the local copy writes it back on rebuild. */
  private write(command: (redis: Redis) => Promise<unknown>): void {
    if (this.closed || this.state !== 'up') return;
    command(this.redis).catch((error: Error) => this.down(error));
  }

  private async read<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    if (this.closed || this.state !== 'up') return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS);
    });
    try {
      return await Promise.race([command(this.redis), timeout]);
    } catch (error) {
      this.down(error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private onMessage(text: string): void {
    let event: DirectoryEvent;
    try {
      event = JSON.parse(text) as DirectoryEvent;
    } catch {
      return;
    }
    if (event.node === this.self.id) return;
    this.emit('event', event);
  }
}

/** Deletes KEYS[1] only when it still names this node (ARGV[1]). */
const DELETE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

function parseNode(text: string): NodeInfo | undefined {
  try {
    const node = JSON.parse(text) as Partial<NodeInfo>;
    if (typeof node.id !== 'string' || typeof node.publicAddress !== 'string') return undefined;
    return { id: node.id, name: node.name ?? '', region: node.region ?? '', publicAddress: node.publicAddress, link: node.link ?? '' };
  } catch {
    return undefined;
  }
}
