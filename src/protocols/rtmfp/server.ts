// The RTMFP supervisor: owns the UDP socket, answers handshakes, routes datagrams to sessions by session
// id, and turns connected sessions into core clients. Plain code; it never throws on input.
import dgram from 'node:dgram';
import { systemClock, type Clock } from '../../clock.ts';
import { TimerWheel } from '../../actors/timer-wheel.ts';
import type { NimbusConfig } from '../../config.ts';
import type { Core } from '../../core/core.ts';
import type { ProtocolServer } from '../../core/ports.ts';
import { channels } from '../../core/diagnostics.ts';
import { RateLimitedLog, type Logger } from '../../log.ts';
import { createServerCertificate, peerIdOf } from './crypto/certificate.ts';
import { createPacketCipher, readSessionId, startupCipher } from './crypto/packet-cipher.ts';
import { loadBlockCipher } from './crypto/aes.ts';
import type { DHGroup } from './crypto/dh.ts';
import { ByteWriter, hex, trimSlashes, utf8Decode } from '../../bytes.ts';
import { WireError, errorCode } from '../../errors.ts';
import { CHUNK, decodeChunks, writeChunk, type FIHelloChunk, type IHelloChunk, type IIKeyingChunk } from './wire/chunks.ts';
import { readPacketHeader } from './wire/packet.ts';
import { Session, type BufferBudget, type Endpoint, type SessionTransport } from './session/session.ts';
import { Handshake, cookieExpiry, cookieKey } from './handshake.ts';
import { ServerClient, formatEndpoint, type ServerClientOptions } from './client.ts';
import { AttemptCounter, PeerIndex, epdPeerId, introduce, redirectAddresses } from './rendezvous.ts';
import { GroupRegistry } from './groups.ts';
import { AddressBudget, DEFAULT_STARTUP_BUDGET, type AddressBudgetLimits } from './address-budget.ts';
import { STARTUP_BURST_SECONDS } from './params.ts';
import { literalFirstLookup } from './udp-lookup.ts';
import { TimeCriticalReception } from './session/time-critical.ts';

export interface ServerStats {
  datagramsIn: number;
  malformed: number;
  unknownSession: number;
  handshakes: number;
  sessionsOpened: number;
  blacklisted: number;
  /** handshakes refused for want of room: server or address at its half-open limit, spent-cookie table full */
  refused: number;
  /** half-open sessions ended by their keying or connect timeout */
  halfOpenExpired: number;
  /** startup packets dropped unread: their address had spent its startup budget (params.ts) */
  throttled: number;
}

/** Bounds on sessions that are not connected yet: what an unauthenticated peer can hold. */
export interface HalfOpenLimits {
  /** half-open sessions (created by an IIKeying, NetConnection not connected yet) from one address */
  perAddress: number;
  /** half-open sessions in total */
  total: number;
  /** a session with no packet under its keys after this ends (the session machine's keyingTimeout) */
  keyingTimeoutMs: number;
  /** a session not connected after this ends */
  connectTimeoutMs: number;
}

export const DEFAULT_HALF_OPEN_LIMITS: HalfOpenLimits = {
  perAddress: 32,
  total: 1024,
  keyingTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
};

/** Bytes all sessions' receiving flows may hold together; past it, the flow that grew it is dropped. */
export const MAX_SERVER_BUFFERED = 256 * 1024 * 1024;

/** Longest endpoint discriminator URL an IHello may carry; longer ones are dropped as malformed, unread. */
export const MAX_EPD_URL_BYTES = 2048;
/** A malformed cause, a refusal or an unexpected exception is logged at most once per this interval. */
export const LOG_INTERVAL_MS = 10_000;

export interface RtmfpServerOptions {
  config: NimbusConfig;
  logger: Logger;
  /** the application, streams, clients and blacklist this server's sessions take part in */
  core: Core;
  clock?: Clock;
  /** Diffie-Hellman groups offered (RFC 7425 §4.2); all of 2, 14 and 16 by default */
  groups?: readonly DHGroup[];
  /** bounds on half-open sessions (DEFAULT_HALF_OPEN_LIMITS, field by field) */
  halfOpen?: Partial<HalfOpenLimits>;
  /** bound of the spent-cookie table (handshake.ts MAX_SPENT_COOKIES) */
  maxSpentCookies?: number;
  /** per-address budget of startup packets (DEFAULT_STARTUP_BUDGET, field by field) */
  startupBudget?: Partial<AddressBudgetLimits>;
}

export class RtmfpServer implements SessionTransport, ProtocolServer {
  readonly protocol = 'RTMFP';
  readonly config: NimbusConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** the one timer behind every session's, flow's and writer's delays (keepalives, retransmissions, close) */
  readonly timers: TimerWheel;
  readonly stats: ServerStats = {
    datagramsIn: 0,
    malformed: 0,
    unknownSession: 0,
    handshakes: 0,
    sessionsOpened: 0,
    blacklisted: 0,
    refused: 0,
    halfOpenExpired: 0,
    throttled: 0,
  };
  readonly halfOpenLimits: HalfOpenLimits;
  /** bytes held by every session's receiving flows, bounded server-wide */
  readonly buffered: BufferBudget = { used: 0, max: MAX_SERVER_BUFFERED };
  /** which sessions receive media, for the TCR flag of the others (RFC 7016 §3.5.2.1) */
  private readonly timeCritical = new TimeCriticalReception();
  /** half-open sessions by id, oldest first: when each was created and from which host */
  private readonly halfOpen = new Map<number, { host: string; at: number }>();
  /** half-open sessions per host */
  private readonly halfOpenByHost = new Map<string, number>();
  /** malformed causes, refusals and exceptions: one line per cause per LOG_INTERVAL_MS */
  readonly rateLog: RateLimitedLog;
  readonly core: Core;
  readonly sessions = new Map<number, Session>();
  readonly clients = new Map<number, ServerClient>();
  readonly handshake: Handshake;
  /** sessions by peer id and address, for rendezvous (RTMFP.md §6) */
  readonly peers = new PeerIndex<ServerClient>();
  /** IHellos per tag: onHandshake's attempts, rotation of rendezvous addresses */
  readonly attempts: AttemptCounter;
  /** NetGroups (RTMFP.md §6.6); also what scripts see as `groups` */
  readonly groups: GroupRegistry;
  /** startup packets per source address, spent before any decryption (a flood from one address sheds there) */
  readonly startupBudget: AddressBudget;
  private socket: dgram.Socket | undefined;
  private nextSessionId = 1;

  constructor(options: RtmfpServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.core = options.core;
    this.clock = options.clock ?? systemClock;
    this.timers = new TimerWheel(this.clock);
    this.halfOpenLimits = {
      ...DEFAULT_HALF_OPEN_LIMITS,
      perAddress: this.config.rtmfp.maxHalfOpenPerAddress,
      total: this.config.rtmfp.maxHalfOpen,
      ...options.halfOpen,
    };
    this.rateLog = new RateLimitedLog(this.logger, LOG_INTERVAL_MS);
    const rate = this.config.rtmfp.startupPacketsPerSecond;
    this.startupBudget = new AddressBudget(
      { ...DEFAULT_STARTUP_BUDGET, perSecond: rate, burst: rate * STARTUP_BURST_SECONDS, ...options.startupBudget },
      this.clock,
    );
    this.attempts = new AttemptCounter({ clock: this.clock, capacity: Math.max(1024, this.config.rtmfp.maxHandshakes) });
    this.groups = new GroupRegistry({
      logger: this.logger,
      onJoin: (client, group) => this.core.application.onJoinGroup(client, group),
      onUnjoin: (client, group) => this.core.application.onUnjoinGroup(client, group),
    });
    this.core.onManage(() => this.manage());
    const groups = options.groups ?? [2, 14, 16];
    this.handshake = new Handshake({
      certificate: createServerCertificate(groups),
      groups,
      clock: this.clock,
      maxKeyings: this.config.rtmfp.maxHandshakes,
      maxSpentCookies: options.maxSpentCookies,
    });
  }

  get address(): { address: string; port: number } {
    const info = this.socket?.address();
    return { address: info?.address ?? this.config.rtmfp.host, port: info?.port ?? this.config.rtmfp.port };
  }

  /** "host:port" clients reach this server at: [RTMFP] publicAddress, else the bound address. */
  get publicAddress(): string {
    return this.config.rtmfp.publicAddress || `${this.publicHost()}:${this.address.port}`;
  }

  async start(): Promise<void> {
    await loadBlockCipher(this.config.rtmfp.cipher);
    const host = this.config.rtmfp.host;
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalFirstLookup });
    this.socket = socket;
    socket.on('message', (message, rinfo) => this.onDatagram(message, { host: rinfo.address, port: rinfo.port }));
    socket.on('error', (error) => this.logger.error({ err: error }, 'UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.config.rtmfp.port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // kernel limits: the defaults still work
    }
    this.logger.debug({ address: this.address }, 'RTMFP socket bound');
  }

  /** Close every session (Close Request, a short wait for acknowledgements), then unbind. */
  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.close('server shutdown');
    if (this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(resolve, 1_000);
        const check = setInterval(() => {
          if (this.sessions.size === 0) {
            clearTimeout(deadline);
            clearInterval(check);
            resolve();
          }
        }, 20);
        deadline.unref();
      });
    }
    for (const session of [...this.sessions.values()]) session.kill('server shutdown');
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    this.socket?.send(datagram, to.port, to.host);
  }

  private manage(): void {
    this.handshake.expire();
    this.attempts.expire();
    this.expireHalfOpen();
  }

  /** Half-open sessions past their connect timeout end at once, without traffic (oldest first). */
  expireHalfOpen(): void {
    const limit = this.clock.now() - this.halfOpenLimits.connectTimeoutMs;
    for (const [id, entry] of this.halfOpen) {
      if (entry.at > limit) break;
      this.stats.halfOpenExpired++;
      const session = this.sessions.get(id);
      if (session) session.kill('connect timeout');
      else this.leaveHalfOpen(id);
    }
  }

  /** Half-open sessions now (keyed or keying, not connected). */
  get halfOpenCount(): number {
    return this.halfOpen.size;
  }

  /** Half-open sessions from one host now. */
  halfOpenFrom(host: string): number {
    return this.halfOpenByHost.get(host) ?? 0;
  }

  private leaveHalfOpen(id: number): void {
    const entry = this.halfOpen.get(id);
    if (!entry) return;
    this.halfOpen.delete(id);
    const n = (this.halfOpenByHost.get(entry.host) ?? 1) - 1;
    if (n <= 0) this.halfOpenByHost.delete(entry.host);
    else this.halfOpenByHost.set(entry.host, n);
  }

  /** Why a new session from this host cannot be created now, or undefined when it can. */
  private noRoomFor(host: string): string | undefined {
    if (this.sessions.size >= this.config.rtmfp.maxSessions) return 'server-full';
    if (this.halfOpen.size >= this.halfOpenLimits.total) return 'half-open-full';
    if ((this.halfOpenByHost.get(host) ?? 0) >= this.halfOpenLimits.perAddress) return 'address-half-open-limit';
    return undefined;
  }

  /** A handshake refused for want of room: counted, logged at most once per interval per cause. */
  private refuse(cause: string, from: Endpoint): void {
    this.stats.refused++;
    this.rateLog.log('warn', cause, 'handshake refused', {
      address: formatEndpoint(from),
      sessions: this.sessions.size,
      halfOpen: this.halfOpen.size,
    });
  }

  /** Every datagram enters here. Malformed input is counted and dropped; nothing escapes. */
  onDatagram(datagram: Uint8Array, from: Endpoint): void {
    this.stats.datagramsIn++;
    try {
      const id = readSessionId(datagram);
      if (id < 0) {
        this.malformed('session-id', from);
        return;
      }
      if (id === 0) {
        this.onStartupPacket(datagram, from);
        return;
      }
      const session = this.sessions.get(id);
      if (!session) {
        this.stats.unknownSession++;
        return;
      }
      if (!session.receiveDatagram(datagram, from)) this.malformed(`session-${session.dropCause ?? 'packet'}`, from);
      else if (session.keyed && this.handshake.pendingKeyings > 0) this.handshake.commit(id);
    } catch (error) {
      // a bug, not bad input: log it (once per interval, a packet can repeat it) and keep serving
      this.malformed('exception', from);
      this.rateLog.log('error', 'exception-trace', 'datagram handling failed', { err: error, code: errorCode(error) });
    }
  }

  /**
   * Input dropped as malformed: counted, told to `nimbus:malformed` subscribers with its cause, and logged at
   * most once per LOG_INTERVAL_MS per cause (with how many were dropped silently since).
   */
  malformed(cause: string, from: Endpoint): void {
    this.stats.malformed++;
    if (channels.malformed.hasSubscribers) {
      channels.malformed.publish({ protocol: 'RTMFP', cause, address: formatEndpoint(from) });
    }
    this.rateLog.log('info', cause, 'malformed input dropped', { address: from.host });
  }

  private onStartupPacket(datagram: Uint8Array, from: Endpoint): void {
    if (this.core.blacklisted.has(from.host)) {
      this.stats.blacklisted++;
      return;
    }
    if (!this.startupBudget.take(from.host)) {
      this.stats.throttled++;
      this.rateLog.log('warn', 'startup-budget', 'startup packets over the per-address budget dropped', { address: from.host });
      return;
    }
    const cleartext = startupCipher.open(datagram);
    if (!cleartext) {
      this.malformed('startup-checksum', from);
      return;
    }
    let chunks;
    try {
      const header = readPacketHeader(cleartext);
      chunks = decodeChunks(cleartext, header.chunksOffset);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.malformed('startup-chunk', from);
      return;
    }
    // one handshake chunk per startup packet (RTMFP.md §3.1)
    const chunk = chunks[0];
    if (!chunk) return;
    if (chunk.type === CHUNK.IHELLO) this.onIHello(chunk as IHelloChunk, from);
    else if (chunk.type === CHUNK.IIKEYING) this.onIIKeying(chunk as IIKeyingChunk, from);
  }

  private onIHello(chunk: IHelloChunk, from: Endpoint): void {
    this.stats.handshakes++;
    const url = chunk.epd.find((o) => o.type === 0x0a);
    const peerId = epdPeerId(chunk.epd);
    if (peerId && !url) {
      this.onRendezVous(peerId, chunk.tag, from);
      return;
    }
    if (!url) return;
    if (url.value.length > MAX_EPD_URL_BYTES) {
      this.malformed('ihello-url-length', from);
      return;
    }
    const busy = this.noRoomFor(from.host);
    if (busy) {
      // visible to the client: a Redirect to no address at all (no application redirect is ever empty)
      this.refuse(busy, from);
      this.reply(this.handshake.redirect(chunk.tag, []), 0, from);
      return;
    }
    const text = utf8Decode(url.value);
    const parsed = parseEpdUrl(text);
    const attempts = this.attempts.count(chunk.tag);
    const redirect = this.core.application.onHandshake(`${from.host}:${from.port}`, parsed.path, parsed.properties, attempts);
    if (redirect.length > 0) {
      const addresses = redirectAddresses(redirect, this.selfAddress());
      if (addresses.length > 0) {
        this.reply(this.handshake.redirect(chunk.tag, addresses), 0, from);
        return;
      }
    }
    this.reply(this.handshake.rHello(chunk.tag, from), 0, from);
  }

  /** IHello for a peer id (RTMFP.md §6.2–6.4): introduce A to B when B is here, else ask the application. */
  private onRendezVous(peerId: Uint8Array, tag: Uint8Array, from: Endpoint): void {
    const attempts = this.attempts.count(tag);
    const target = this.peers.byPeerId(peerId);
    if (!target) {
      let returned: string[] = [];
      try {
        returned = this.core.application.onRendezVousUnknown(hex(peerId), 'RTMFP');
      } catch (error) {
        // one IHello per call: an attacker's rate, so at most one line per interval
        this.rateLog.log('error', 'rendezvous-unknown-failed', 'application onRendezVousUnknown failed', {
          err: error,
          code: errorCode(error),
        });
      }
      const addresses = redirectAddresses(returned, this.selfAddress());
      if (addresses.length > 0) this.reply(this.handshake.redirect(tag, addresses), 0, from);
      else this.locate(peerId, tag, from);
      return;
    }
    const requester = this.peers.byEndpoint(from);
    if (!target.connected || requester === target) return;
    const introduction = introduce(target, requester, from, tag, attempts);
    if (!introduction) return;
    this.forward(target.session, introduction.forward);
    this.reply(this.handshake.redirect(tag, introduction.redirect), 0, from);
  }

  /** The application's directory (cluster mode) for a peer nobody here knows: answered when it settles. */
  private locate(peerId: Uint8Array, tag: Uint8Array, from: Endpoint): void {
    const application = this.core.application;
    if (!application.locatePeer) return;
    application.locatePeer(hex(peerId)).then(
      (found) => {
        const addresses = redirectAddresses(found, this.selfAddress());
        if (addresses.length > 0) this.reply(this.handshake.redirect(tag, addresses), 0, from);
      },
      (error: unknown) => this.logger.error({ err: error, code: errorCode(error) }, 'peer lookup failed'),
    );
  }

  /** A Forwarded IHello inside the target's session, sent at once. */
  private forward(session: Session, chunk: FIHelloChunk): void {
    const w = new ByteWriter(64 + chunk.tag.length);
    writeChunk(w, chunk);
    session.queueControl(w.bytes(), true);
  }

  /** "again" in an application's redirect: this server, as clients reach it. */
  private selfAddress(): string {
    const host = this.publicHost();
    return `${host.includes(':') ? `[${host}]` : host}:${this.address.port}`;
  }

  private onIIKeying(chunk: IIKeyingChunk, from: Endpoint): void {
    if (!this.handshake.checkCookie(chunk.cookie, from)) return;
    const existing = this.handshake.existing(chunk.cookie);
    if (existing) {
      if (existing.initiatorSessionId === chunk.initiatorSessionId) {
        this.reply(existing.riKeying, chunk.initiatorSessionId, from);
      }
      return;
    }
    // a cookie creates one session in its whole lifetime, whatever happened to that session since
    if (this.handshake.spent(chunk.cookie)) {
      this.malformed('cookie-replayed', from);
      return;
    }
    const busy = this.noRoomFor(from.host) ?? (this.handshake.canSpend() ? undefined : 'cookie-table-full');
    if (busy) {
      this.refuse(busy, from);
      return;
    }
    const keying = this.handshake.respond(chunk.certificate, chunk.skic);
    if (!keying) {
      this.malformed('keying', from);
      return;
    }
    const sessionId = this.allocateSessionId();
    // everything that could throw comes before the session is registered
    const riKeying = this.handshake.startupPacket({
      type: CHUNK.RIKEYING,
      responderSessionId: sessionId,
      skrc: keying.skrc,
      signature: Uint8Array.of(0x58),
    });
    const peerId = peerIdOf(chunk.certificate);
    const client = new ServerClient(this.logger.child({ session: sessionId, address: `${from.host}:${from.port}` }), this.clientOptions);
    const session = new Session({
      role: 'responder',
      nearId: sessionId,
      farId: chunk.initiatorSessionId,
      address: from,
      cipher: createPacketCipher(keying.keys.encryptKey, keying.keys.decryptKey, keying.keys.protection, this.config.rtmfp.cipher),
      transport: this,
      delegate: client,
      clock: this.timers,
      logger: client.logger,
      keepAliveMs: this.config.rtmfp.keepAliveServer * 1000,
      peerTimeoutMs: this.config.rtmfp.timeout * 1000,
      keyingTimeoutMs: this.halfOpenLimits.keyingTimeoutMs,
      sharedBuffer: this.buffered,
      timeCritical: this.timeCritical,
      peerId,
    });
    client.attach(session);
    this.sessions.set(sessionId, session);
    this.clients.set(sessionId, client);
    this.halfOpen.set(sessionId, { host: from.host, at: this.clock.now() });
    this.halfOpenByHost.set(from.host, (this.halfOpenByHost.get(from.host) ?? 0) + 1);
    this.peers.add(client);
    this.stats.sessionsOpened++;
    if (channels.sessionOpen.hasSubscribers) {
      channels.sessionOpen.publish({ protocol: 'RTMFP', id: sessionId, address: client.address });
    }
    this.handshake.remember({
      cookie: cookieKey(chunk.cookie),
      expiresAt: cookieExpiry(chunk.cookie),
      initiatorSessionId: chunk.initiatorSessionId,
      skic: chunk.skic,
      sessionId,
      riKeying,
      createdAt: this.clock.now(),
    });
    client.logger.debug({ peerId: hex(peerId), group: keying.group }, 'session keyed');
    this.reply(riKeying, chunk.initiatorSessionId, from);
  }

  /** A startup packet (default key) to `farId` (0 for RHello/Redirect, the initiator's id for RIKeying). */
  private reply(cleartext: Uint8Array, farId: number, to: Endpoint): void {
    this.send(startupCipher.seal(farId, cleartext), to);
  }

  /** What every client of this server is given: one object for all (an idle session holds no closures of its own) */
  private get clientOptions(): ServerClientOptions {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    return (this.sharedClientOptions ??= {
      core: this.core,
      // read when used, as the configuration is now (a reload may change it)
      get keepAliveServerMs() {
        return server.config.rtmfp.keepAliveServer * 1000;
      },
      get keepAlivePeerMs() {
        return server.config.rtmfp.keepAlivePeer * 1000;
      },
      groups: this.groups,
      onAddressChanged: (moved, previous) => this.peers.moved(moved, previous),
      rateLog: this.rateLog,
      onConnected: (connected) => this.leaveHalfOpen(connected.session.nearId),
      onClosed: (closed, reason) => {
        const sessionId = closed.session.nearId;
        this.leaveHalfOpen(sessionId);
        this.sessions.delete(sessionId);
        this.clients.delete(sessionId);
        this.peers.remove(closed);
        this.handshake.commit(sessionId);
        if (channels.sessionClose.hasSubscribers) {
          channels.sessionClose.publish({ protocol: 'RTMFP', id: sessionId, address: closed.address, reason });
        }
      },
    });
  }

  private sharedClientOptions: ServerClientOptions | undefined;

  private allocateSessionId(): number {
    for (;;) {
      const id = this.nextSessionId;
      this.nextSessionId = id >= 0xfffffffe ? 1 : id + 1;
      if (!this.sessions.has(id)) return id;
    }
  }

  private publicHost(): string {
    const configured = this.config.rtmfp.publicAddress;
    if (configured) return configured.replace(/:\d+$/, '');
    const host = this.address.address;
    return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  }
}

/** `rtmfp://host[:port]/path?query` or a bare path (librtmfp): the path and query properties. */
export function parseEpdUrl(text: string): { path: string; properties: Record<string, string> } {
  let rest = text;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    const slash = rest.indexOf('/');
    rest = slash >= 0 ? rest.slice(slash + 1) : '';
  }
  const mark = rest.indexOf('?');
  const properties: Record<string, string> = {};
  if (mark >= 0) {
    for (const [key, value] of new URLSearchParams(rest.slice(mark + 1))) properties[key] = value;
    rest = rest.slice(0, mark);
  }
  return { path: trimSlashes(rest), properties };
}
