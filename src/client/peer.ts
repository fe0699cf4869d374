// Direct sessions between clients (RTMFP.md §6.2–6.3, RFC 7016 §3.5.1.5). Initiator: an IHello with EPD
// `21 0f <peer id>` goes to the server, which forwards it to the peer and redirects us to the peer's addresses,
// where the same IHello goes next; the first RHello whose certificate hashes to the peer id wins. Responder:
// a Forwarded IHello from the server (or a direct IHello naming our peer id) gets an RHello sent to the
// requester's address, then the keying completes as on the server. Both ends then talk NetConnection-style
// messages (TC commands on a flow with stream id 0) over a Session of their own on the same UDP socket.
import type dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.ts';
import { initiateKeying, type InitiatorIdentity, type InitiatorKeying } from '../protocols/rtmfp/crypto/keying.ts';
import { createPacketCipher, readSessionId, startupCipher } from '../protocols/rtmfp/crypto/packet-cipher.ts';
import { parseCertificate, peerIdOf } from '../protocols/rtmfp/crypto/certificate.ts';
import { equalBytes, hex } from '../bytes.ts';
import { ClosedError, ConnectError, TimeoutError, WireError } from '../errors.ts';
import {
  CHUNK,
  type Chunk,
  type FIHelloChunk,
  type IHelloChunk,
  type IIKeyingChunk,
  type RHelloChunk,
  type RIKeyingChunk,
  type RedirectChunk,
} from '../protocols/rtmfp/wire/chunks.ts';
import { readStartupPacket, type StartupPacket } from './startup.ts';
import { TC, decodeCommand, decodeTCMessage, encodeCommand } from '../flash/tc.ts';
import type { AMFValue } from '../flash/amf/types.ts';
import { Session, type Endpoint, type FlowHandler, type FlowOpening, type SessionDelegate } from '../protocols/rtmfp/session/session.ts';
import { TimeCriticalReception } from '../protocols/rtmfp/session/time-critical.ts';
import { tcSignature } from '../protocols/rtmfp/session/writer-port.ts';
import type { FlowWriter } from '../protocols/rtmfp/flow/writer.ts';
import { Handshake, cookieExpiry, cookieKey } from '../protocols/rtmfp/handshake.ts';
import { EPD_PEER_ID, epdPeerId, peerEpd } from '../protocols/rtmfp/rendezvous.ts';
import { DELAYED_ACK_MS } from '../protocols/rtmfp/params.ts';
import type { Logger } from '../log.ts';

const NETCONNECTION_SIGNATURE = tcSignature(0);
const RETRY_MS = 1_000;
/** Keepalive of peer sessions (Flash's keepalivePeer default, RTMFP.md §9.1). */
const PEER_KEEPALIVE_MS = 10_000;

export interface PeerConnectionEvents {
  invocation: [name: string, args: AMFValue[]];
  close: [reason: string];
}

/** One direct session with another client, either role. */
export class PeerConnection extends EventEmitter<PeerConnectionEvents> implements SessionDelegate {
  /** the far peer's id */
  readonly farPeerId: Uint8Array;
  readonly role: 'initiator' | 'responder';
  session!: Session;
  private writer: FlowWriter | undefined;
  private farFlowId: number | undefined;
  private readonly onEnded: (peer: PeerConnection) => void;

  constructor(farPeerId: Uint8Array, role: 'initiator' | 'responder', onEnded: (peer: PeerConnection) => void) {
    super();
    this.farPeerId = farPeerId;
    this.role = role;
    this.onEnded = onEnded;
  }

  get address(): Endpoint {
    return this.session.address;
  }

  get closed(): boolean {
    return this.session.closed;
  }

  /** A command without a response (transaction 0) on our NetConnection flow to the peer. */
  send(name: string, ...args: AMFValue[]): void {
    if (!this.session.usable) return;
    this.writer ??= this.session.newWriter(NETCONNECTION_SIGNATURE, this.farFlowId);
    this.writer.write(encodeCommand(name, 0, null, args));
  }

  /** Orderly close; resolves once the peer acknowledged (or after a short wait). */
  close(): Promise<void> {
    if (this.session.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.once('close', () => resolve());
      this.session.close('peer closed');
      setTimeout(() => {
        this.session.kill('peer closed');
        resolve();
      }, 2_000).unref();
    });
  }

  // SessionDelegate ---------------------------------------------------------------------------------------
  onFlow(_session: Session, opening: FlowOpening): FlowHandler | null {
    const signature = opening.signature;
    if (!signature || signature.length < 4 || signature[0] !== 0x54 || signature[1] !== 0x43 || signature[3] !== 0) return null;
    this.farFlowId ??= opening.flowId;
    return { onMessage: (message) => this.onMessage(message) };
  }

  onClosed(_session: Session, reason: string): void {
    this.onEnded(this);
    this.emit('close', reason);
  }

  private onMessage(message: Uint8Array): void {
    try {
      const tc = decodeTCMessage(message);
      if (tc.type !== TC.COMMAND_AMF0 && tc.type !== TC.COMMAND_AMF3) return;
      const command = decodeCommand(tc);
      this.emit('invocation', command.name, command.args);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
    }
  }
}

export interface PeerHubOptions {
  socket: dgram.Socket;
  identity: InitiatorIdentity;
  style: 'flash' | 'rfc7425';
  /** where rendezvous requests go */
  server: Endpoint;
  clock: Clock;
  logger: Logger;
  /** the client's record of time-critical reception, shared with its server session (TCR, RFC 7016 §3.5.2.1) */
  timeCritical?: TimeCriticalReception;
  /** session ids already taken on this socket (the server session's) */
  reservedIds(): Iterable<number>;
}

export interface PeerHubEvents {
  /** a peer opened a session to us */
  peer: [peer: PeerConnection];
}

interface Attempt {
  peerId: Uint8Array;
  tag: Uint8Array;
  initiatorSessionId: number;
  /** IHello destinations: the server, then what its Redirect listed */
  destinations: Endpoint[];
  keying: InitiatorKeying | undefined;
  /** where the RHello came from: the IIKeying goes there */
  peerAddress: Endpoint | undefined;
  request: Uint8Array;
  retry: ReturnType<typeof setInterval>;
  timeout: ReturnType<typeof setTimeout>;
  resolve(peer: PeerConnection): void;
  reject(error: Error): void;
}

/** Peer sessions of one client socket: outgoing attempts, incoming handshakes, datagram routing. */
export class PeerHub extends EventEmitter<PeerHubEvents> {
  readonly peerId: Uint8Array;
  private readonly options: PeerHubOptions;
  private readonly attempts = new Map<string, Attempt>();
  private readonly sessions = new Map<number, PeerConnection>();
  private responder: Handshake | undefined;
  private readonly listener: (message: Buffer, rinfo: dgram.RemoteInfo) => void;
  private closed = false;

  constructor(options: PeerHubOptions) {
    super();
    this.options = options;
    this.peerId = peerIdOf(options.identity.certificate);
    this.listener = (message, rinfo) => {
      const datagram = new Uint8Array(message.buffer, message.byteOffset, message.length);
      try {
        this.onDatagram(datagram, { host: rinfo.address, port: rinfo.port });
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
      }
    };
    options.socket.on('message', this.listener);
  }

  /** Open sessions with peers, both roles. */
  get peers(): PeerConnection[] {
    return [...this.sessions.values()];
  }

  /** A direct session with `peerId` through the server's introduction. */
  connect(peerId: Uint8Array, timeoutMs = 10_000): Promise<PeerConnection> {
    return new Promise<PeerConnection>((resolve, reject) => {
      if (this.closed) return reject(new ClosedError('peer hub closed'));
      const tag = randomBytes(16);
      const ihello: IHelloChunk = { type: CHUNK.IHELLO, epd: [{ type: EPD_PEER_ID, value: peerId }], epdRaw: peerEpd(peerId), tag };
      const attempt: Attempt = {
        peerId: Uint8Array.from(peerId),
        tag,
        initiatorSessionId: this.allocateId(),
        destinations: [this.options.server],
        keying: undefined,
        peerAddress: undefined,
        request: this.startup(ihello),
        retry: setInterval(() => this.resend(attempt), RETRY_MS),
        timeout: setTimeout(() => this.settle(attempt, new TimeoutError(`no session with peer ${hex(peerId)}`)), timeoutMs),
        resolve,
        reject,
      };
      this.attempts.set(hex(tag), attempt);
      this.resend(attempt);
    });
  }

  /** The server forwarded a peer's IHello to us (RTMFP.md §6.3): say hello back to the requester's address. */
  onForwardedHello(chunk: FIHelloChunk): void {
    const wanted = epdPeerId(chunk.epd);
    if (!wanted || !equalBytes(wanted, this.peerId)) return;
    this.sendRHello(chunk.tag, { host: chunk.replyAddress.host, port: chunk.replyAddress.port });
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const attempt of [...this.attempts.values()]) this.settle(attempt, new ClosedError(`peer hub ${reason}`));
    for (const peer of [...this.sessions.values()]) peer.session.kill(reason);
    this.options.socket.off('message', this.listener);
  }

  // ---- datagrams ----------------------------------------------------------------------------------------
  private onDatagram(datagram: Uint8Array, from: Endpoint): void {
    const id = readSessionId(datagram);
    if (id < 0) return;
    const peer = this.sessions.get(id);
    if (peer) {
      peer.session.receiveDatagram(datagram, from);
      if (peer.session.state !== 'keying') this.responder?.commit(id);
      return;
    }
    // the server session's packets pass here too: only startup packets, or an RIKeying to an attempt of ours
    if (id !== 0 && !this.keyingWith(id)) return;
    const startup = readStartupPacket(datagram, this.options.clock.now());
    if (!startup) return;
    const chunk = startup.chunk;
    switch (chunk.type) {
      case CHUNK.IHELLO:
        if (id === 0) this.onIHello(chunk as IHelloChunk, from);
        break;
      case CHUNK.REDIRECT:
        if (id === 0) this.onRedirect(chunk as RedirectChunk);
        break;
      case CHUNK.RHELLO:
        if (id === 0) this.onRHello(chunk as RHelloChunk, from);
        break;
      case CHUNK.IIKEYING:
        if (id === 0) this.onIIKeying(chunk as IIKeyingChunk, from);
        break;
      case CHUNK.RIKEYING:
        this.onRIKeying(chunk as RIKeyingChunk, id, from, startup.heard);
        break;
    }
  }

  // ---- initiator ----------------------------------------------------------------------------------------
  private resend(attempt: Attempt): void {
    const sealed = startupCipher.seal(0, attempt.request);
    if (attempt.keying) this.sendTo(sealed, attempt.peerAddress!);
    else for (const to of attempt.destinations) this.sendTo(sealed, to);
  }

  private onRedirect(chunk: RedirectChunk): void {
    const attempt = this.attempts.get(hex(chunk.tag));
    if (!attempt || attempt.keying) return;
    const sealed = startupCipher.seal(0, attempt.request);
    for (const address of chunk.addresses) {
      const to = { host: address.host, port: address.port };
      if (attempt.destinations.some((d) => d.host === to.host && d.port === to.port)) continue;
      attempt.destinations.push(to);
      this.sendTo(sealed, to);
    }
  }

  private onRHello(chunk: RHelloChunk, from: Endpoint): void {
    const attempt = this.attempts.get(hex(chunk.tag));
    if (!attempt || attempt.keying) return;
    // only the peer itself can show a certificate that hashes to its id
    let fingerprint: Uint8Array;
    try {
      fingerprint = parseCertificate(chunk.certificate).fingerprint;
    } catch {
      return;
    }
    if (!equalBytes(fingerprint, attempt.peerId) && !equalBytes(peerIdOf(chunk.certificate), attempt.peerId)) return;
    const keying = initiateKeying(this.options.identity, chunk.certificate, this.options.style);
    if (!keying) return this.settle(attempt, new ConnectError('peer certificate offers no usable DH group'));
    attempt.keying = keying;
    attempt.peerAddress = from;
    attempt.request = this.startup({
      type: CHUNK.IIKEYING,
      initiatorSessionId: attempt.initiatorSessionId,
      cookie: chunk.cookie,
      certificate: this.options.identity.certificate,
      skic: keying.skic,
      signedParameters: new Uint8Array(0),
      signature: Uint8Array.of(0x58),
    });
    this.resend(attempt);
  }

  private keyingWith(initiatorSessionId: number): Attempt | undefined {
    for (const a of this.attempts.values()) if (a.keying && a.initiatorSessionId === initiatorSessionId) return a;
    return undefined;
  }

  private onRIKeying(chunk: RIKeyingChunk, id: number, from: Endpoint, heard: StartupPacket['heard']): void {
    const attempt = this.keyingWith(id);
    if (!attempt) return;
    const keys = attempt.keying!.complete(chunk.skrc);
    if (!keys) return this.settle(attempt, new ConnectError('peer keying rejected'));
    const peer = new PeerConnection(attempt.peerId, 'initiator', (p) => this.forget(p));
    peer.session = new Session({
      role: 'initiator',
      nearId: attempt.initiatorSessionId,
      farId: chunk.responderSessionId,
      address: from,
      cipher: createPacketCipher(keys.encryptKey, keys.decryptKey, keys.protection),
      transport: { send: (d, to) => this.sendTo(d, to) },
      delegate: peer,
      clock: this.options.clock,
      timeCritical: this.options.timeCritical,
      logger: this.options.logger,
      keepAliveMs: PEER_KEEPALIVE_MS,
      peerId: attempt.peerId,
      ackDelayMs: DELAYED_ACK_MS,
      handshakeTimestamp: heard,
    });
    this.sessions.set(attempt.initiatorSessionId, peer);
    this.settle(attempt, null, peer);
  }

  private settle(attempt: Attempt, error: Error | null, peer?: PeerConnection): void {
    if (this.attempts.get(hex(attempt.tag)) !== attempt) return;
    this.attempts.delete(hex(attempt.tag));
    clearInterval(attempt.retry);
    clearTimeout(attempt.timeout);
    if (error) attempt.reject(error);
    else attempt.resolve(peer!);
  }

  // ---- responder ----------------------------------------------------------------------------------------
  private onIHello(chunk: IHelloChunk, from: Endpoint): void {
    const wanted = epdPeerId(chunk.epd);
    if (wanted && equalBytes(wanted, this.peerId)) this.sendRHello(chunk.tag, from);
  }

  private sendRHello(tag: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    this.sendTo(startupCipher.seal(0, this.handshake().rHello(tag, to)), to);
  }

  private onIIKeying(chunk: IIKeyingChunk, from: Endpoint): void {
    const handshake = this.handshake();
    if (!handshake.checkCookie(chunk.cookie, from)) return;
    const existing = handshake.existing(chunk.cookie);
    if (existing) {
      if (existing.initiatorSessionId === chunk.initiatorSessionId) {
        this.sendTo(startupCipher.seal(chunk.initiatorSessionId, existing.riKeying), from);
      }
      return;
    }
    // a cookie opens one session in its lifetime (a replayed IIKeying never opens a second one)
    if (handshake.spent(chunk.cookie) || !handshake.canSpend()) return;
    const keying = handshake.respond(chunk.certificate, chunk.skic);
    if (!keying) return;
    const nearId = this.allocateId();
    const riKeying = handshake.startupPacket({
      type: CHUNK.RIKEYING,
      responderSessionId: nearId,
      skrc: keying.skrc,
      signature: Uint8Array.of(0x58),
    });
    const farPeerId = peerIdOf(chunk.certificate);
    const peer = new PeerConnection(farPeerId, 'responder', (p) => this.forget(p));
    peer.session = new Session({
      role: 'responder',
      nearId,
      farId: chunk.initiatorSessionId,
      address: from,
      cipher: createPacketCipher(keying.keys.encryptKey, keying.keys.decryptKey, keying.keys.protection),
      transport: { send: (d, to) => this.sendTo(d, to) },
      delegate: peer,
      clock: this.options.clock,
      timeCritical: this.options.timeCritical,
      logger: this.options.logger,
      keepAliveMs: PEER_KEEPALIVE_MS,
      peerId: farPeerId,
      ackDelayMs: DELAYED_ACK_MS,
    });
    this.sessions.set(nearId, peer);
    handshake.remember({
      cookie: cookieKey(chunk.cookie),
      expiresAt: cookieExpiry(chunk.cookie),
      initiatorSessionId: chunk.initiatorSessionId,
      skic: chunk.skic,
      sessionId: nearId,
      riKeying,
      createdAt: this.options.clock.now(),
    });
    this.sendTo(startupCipher.seal(chunk.initiatorSessionId, riKeying), from);
    this.emit('peer', peer);
  }

  /** Cookies and keyings of incoming peer sessions: the server's responder code, with our certificate. */
  private handshake(): Handshake {
    this.responder ??= new Handshake({
      certificate: this.options.identity.certificate,
      groups: this.options.identity.groups,
      clock: this.options.clock,
      maxKeyings: 64,
    });
    return this.responder;
  }

  // ---- shared -------------------------------------------------------------------------------------------
  private forget(peer: PeerConnection): void {
    if (this.sessions.get(peer.session.nearId) === peer) this.sessions.delete(peer.session.nearId);
    this.responder?.commit(peer.session.nearId);
  }

  private allocateId(): number {
    const taken = new Set(this.options.reservedIds());
    for (;;) {
      const id = randomBytes(4).readUInt32BE(0) >>> 0;
      if (id === 0 || taken.has(id) || this.sessions.has(id)) continue;
      let pending = false;
      for (const a of this.attempts.values()) if (a.initiatorSessionId === id) pending = true;
      if (!pending) return id;
    }
  }

  private startup(chunk: Chunk): Uint8Array {
    return this.handshake().startupPacket(chunk);
  }

  private sendTo(datagram: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    try {
      this.options.socket.send(datagram, to.port, to.host);
    } catch {
      // socket closed under us: the owner is shutting down
    }
  }
}
