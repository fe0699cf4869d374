// An RTMFP client (initiator) speaking Flash's wire protocol: handshake, a session over the same Session
// code the server uses, and the NetConnection dialogue (connect, call, close). Used by the tests and
// exported for Node users.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../clock.ts';
import { createInitiatorIdentity, initiateKeying, type InitiatorIdentity, type InitiatorKeying } from '../protocols/rtmfp/crypto/keying.ts';
import { createPacketCipher, readSessionId, startupCipher } from '../protocols/rtmfp/crypto/packet-cipher.ts';
import { readStartupPacket } from './startup.ts';
import { peerIdOf } from '../protocols/rtmfp/crypto/certificate.ts';
import { ByteWriter, decodeVLU, equalBytes, fromHex, utf8Encode } from '../bytes.ts';
import { CallError, ClosedError, ConnectError, TimeoutError, WireError } from '../errors.ts';
import {
  CHUNK,
  writeChunk,
  type Chunk,
  type FIHelloChunk,
  type RHelloChunk,
  type RIKeyingChunk,
  type RedirectChunk,
} from '../protocols/rtmfp/wire/chunks.ts';
import { MODE, timestampNow, writePacketHeader } from '../protocols/rtmfp/wire/packet.ts';
import { writeOption } from '../protocols/rtmfp/wire/options.ts';
import { TC, UserControl, decodeCommand, decodeData, decodeTCMessage, decodeUserControl, encodeCommand } from '../flash/tc.ts';
import type { AMFObject, AMFValue } from '../flash/amf/types.ts';
import { isAMFObject } from '../flash/amf/types.ts';
import { Session, type Endpoint, type FlowHandler, type FlowOpening, type SessionDelegate } from '../protocols/rtmfp/session/session.ts';
import { TimeCriticalReception } from '../protocols/rtmfp/session/time-critical.ts';
import { tcSignature } from '../protocols/rtmfp/session/writer-port.ts';
import type { FlowWriter } from '../protocols/rtmfp/flow/writer.ts';
import { NetStream } from './net-stream.ts';
import { PeerHub, type PeerConnection } from './peer.ts';
import { GC_SIGNATURE, NetGroup } from './group.ts';
import type { Logger } from '../log.ts';
import { pino } from 'pino';
import { literalFirstLookup } from '../protocols/rtmfp/udp-lookup.ts';
import { DELAYED_ACK_MS } from '../protocols/rtmfp/params.ts';

export interface ConnectOptions {
  /** 'flash': one static group-2 key, checksums (Flash Player, librtmfp). 'rfc7425': groups 16/14/2, HMAC and
   *  session sequence numbers (rtmfp-cpp defaults). */
  style?: 'flash' | 'rfc7425';
  /** extra arguments of NetConnection.connect(url, ...args) */
  args?: AMFValue[];
  /** properties added to (or replacing) the connect command object */
  properties?: AMFObject;
  timeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** local address to bind (default 127.0.0.1:0 for 127.* servers, else 0.0.0.0:0) */
  bind?: { host?: string; port?: number };
}

export { CallError };

/** The CallError of an `_error` answer: its description as message, its Flash code as status. */
function callError(info: AMFValue): CallError {
  const description = isAMFObject(info) ? String(info.description ?? info.code ?? 'call failed') : String(info);
  const status = isAMFObject(info) && typeof info.code === 'string' ? info.code : '';
  return new CallError(description, status, info);
}

interface PendingCall {
  resolve(values: AMFValue[]): void;
  reject(error: Error): void;
}

export interface NetConnectionEvents {
  status: [info: AMFObject];
  invocation: [name: string, args: AMFValue[]];
  data: [name: string, args: AMFValue[]];
  close: [reason: string];
}

const NETCONNECTION_SIGNATURE = tcSignature(0);

/** Addresses an IHello goes to at most (the server and those its Redirects name). */
const MAX_REDIRECT_TARGETS = 16;

export class NetConnection extends EventEmitter<NetConnectionEvents> implements SessionDelegate {
  readonly url: string;
  readonly server: Endpoint;
  readonly identity: InitiatorIdentity;
  readonly style: 'flash' | 'rfc7425';
  session: Session | undefined;
  /** the connect result (the NetConnection.Connect.Success info object) */
  connectInfo: AMFObject | undefined;
  keepAliveServerMs = 0;
  keepAlivePeerMs = 0;
  private readonly socket: dgram.Socket;
  private readonly clock: Clock;
  /** media received by the server session or a peer session: TCR on the others' packets */
  private readonly timeCritical = new TimeCriticalReception();
  private readonly logger: Logger;
  private writer: FlowWriter | undefined;
  private readonly pending = new Map<number, PendingCall>();
  private nextTransaction = 2;
  private closedReason: string | undefined;
  /** NetStreams by stream id, and the server's NetConnection writer their flows are associated with */
  private readonly netStreams = new Map<number, NetStream>();
  private serverNetConnectionFlowId: number | undefined;
  /** direct sessions with other clients on this socket (P2P); `peers.on('peer')` hears incoming ones */
  readonly peers: PeerHub;
  /** NetGroups joined through the server, by our GC flow id */
  private readonly netGroups = new Map<number, NetGroup>();

  private constructor(url: string, server: Endpoint, socket: dgram.Socket, options: ConnectOptions) {
    super();
    this.url = url;
    this.server = server;
    this.socket = socket;
    this.style = options.style ?? 'flash';
    this.identity = createInitiatorIdentity(this.style);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? (pino({ level: 'silent' }) as unknown as Logger);
    this.peers = new PeerHub({
      socket,
      identity: this.identity,
      style: this.style,
      server,
      clock: this.clock,
      logger: this.logger,
      timeCritical: this.timeCritical,
      reservedIds: () => (this.session ? [this.session.nearId] : []),
    });
  }

  /** Open a session to `rtmfp://host:port/path?query` and send `connect`; resolves on Connect.Success. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<NetConnection> {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const server = { host, port: parsed.port ? Number(parsed.port) : 1935 };
    const family = host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type: family, lookup: literalFirstLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      const bindHost = options.bind?.host ?? (host.startsWith('127.') ? '127.0.0.1' : undefined);
      socket.bind(options.bind?.port ?? 0, bindHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const connection = new NetConnection(url, server, socket, options);
    try {
      await connection.open(options);
      return connection;
    } catch (error) {
      connection.destroy(String(error));
      throw error;
    }
  }

  /** Peer id (SHA-256 of our certificate), what Flash calls nearID. */
  get peerId(): Uint8Array {
    return this.session?.peerId ?? new Uint8Array(32);
  }

  get connected(): boolean {
    return this.connectInfo !== undefined && this.closedReason === undefined;
  }

  private async open(options: ConnectOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const session = await this.handshake(timeoutMs);
    this.session = session;
    this.writer = session.newWriter(NETCONNECTION_SIGNATURE, undefined);
    this.writer.critical = true;
    const properties: AMFObject = {
      app: new URL(this.url).pathname.replace(/^\//, ''),
      flashVer: 'WIN 11,7,700,202',
      swfUrl: undefined,
      tcUrl: this.url,
      fpad: false,
      capabilities: 235,
      audioCodecs: 3575,
      videoCodecs: 252,
      videoFunction: 1,
      pageUrl: undefined,
      objectEncoding: 3,
      ...options.properties,
    };
    const result = await this.transaction(1, 'connect', properties, options.args ?? [], timeoutMs);
    const info = result[0];
    this.connectInfo = isAMFObject(info) ? info : {};
    // the client role's session actor hears the connect result too (machines/session.ts: connecting → connected)
    session.actor.send({ type: 'CONNECTED' });
  }

  /** IHello → RHello → IIKeying → RIKeying, retrying each step every second. */
  private handshake(timeoutMs: number): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      const tag = randomBytes(16);
      const initiatorSessionId = (randomBytes(4).readUInt32BE(0) | 1) >>> 0;
      let keying: InitiatorKeying | undefined;
      let cookie: Uint8Array | undefined;
      let peer = this.server;
      let request: Uint8Array = this.startup({
        type: CHUNK.IHELLO,
        epd: [],
        epdRaw: urlEndpointDiscriminator(this.url),
        tag,
      });
      // before an RHello, the IHello goes to the server and to every address a Redirect named (as Flash
      // does: a server answering onHandshake with other servers' addresses spreads clients over them);
      // the first to answer with an RHello is the peer
      const targets: Endpoint[] = [this.server];
      const send = () => {
        for (const target of keying ? [peer] : targets) this.socket.send(startupCipher.seal(0, request), target.port, target.host);
      };
      const retry = setInterval(send, 1_000);
      const timeout = setTimeout(() => finish(new TimeoutError(`RTMFP handshake with ${this.url} timed out`)), timeoutMs);
      const finish = (error: Error | null, session?: Session) => {
        clearInterval(retry);
        clearTimeout(timeout);
        this.socket.off('message', onMessage);
        if (error) reject(error);
        else resolve(session!);
      };
      const onMessage = (message: Buffer, rinfo: dgram.RemoteInfo) => {
        const datagram = new Uint8Array(message.buffer, message.byteOffset, message.length);
        const id = readSessionId(datagram);
        if (id !== 0 && id !== initiatorSessionId) return;
        const startup = readStartupPacket(datagram, this.clock.now());
        if (!startup) return;
        const chunk = startup.chunk;
        if (chunk.type === CHUNK.RHELLO && !keying) {
          const hello = chunk as RHelloChunk;
          if (!equalBytes(hello.tag, tag)) return;
          const started = initiateKeying(this.identity, hello.certificate, this.style);
          if (!started) return finish(new ConnectError('server certificate offers no usable DH group'));
          keying = started;
          cookie = hello.cookie;
          peer = { host: rinfo.address, port: rinfo.port };
          request = this.startup({
            type: CHUNK.IIKEYING,
            initiatorSessionId,
            cookie,
            certificate: this.identity.certificate,
            skic: keying.skic,
            signedParameters: new Uint8Array(0),
            signature: Uint8Array.of(0x58),
          });
          send();
        } else if (chunk.type === CHUNK.REDIRECT && !keying) {
          const redirect = chunk as RedirectChunk;
          if (!equalBytes(redirect.tag, tag)) return;
          // a Redirect to no address is a server with no room for us (busy): fail now rather than time out
          if (redirect.addresses.length === 0) return finish(new ConnectError(`${this.url}: server busy (no room for a new session)`));
          this.emit('status', { code: 'NetConnection.Connect.Redirect', addresses: redirect.addresses.map((a) => `${a.host}:${a.port}`) });
          for (const address of redirect.addresses) {
            if (targets.length >= MAX_REDIRECT_TARGETS || targets.some((t) => t.host === address.host && t.port === address.port)) continue;
            targets.push({ host: address.host, port: address.port });
            this.socket.send(startupCipher.seal(0, request), address.port, address.host);
          }
        } else if (chunk.type === CHUNK.RIKEYING && keying && id === initiatorSessionId) {
          const ri = chunk as RIKeyingChunk;
          const keys = keying.complete(ri.skrc);
          if (!keys) return finish(new ConnectError('responder keying rejected'));
          const session = new Session({
            role: 'initiator',
            nearId: initiatorSessionId,
            farId: ri.responderSessionId,
            address: peer,
            cipher: createPacketCipher(keys.encryptKey, keys.decryptKey, keys.protection),
            transport: { send: (d, to) => this.socket.send(d, to.port, to.host) },
            delegate: this,
            clock: this.clock,
            timeCritical: this.timeCritical,
            logger: this.logger,
            keepAliveMs: 15_000,
            peerId: peerIdOf(this.identity.certificate),
            ackDelayMs: DELAYED_ACK_MS,
            handshakeTimestamp: startup.heard,
          });
          this.socket.on('message', (m, r) => {
            const d = new Uint8Array(m.buffer, m.byteOffset, m.length);
            if (readSessionId(d) === initiatorSessionId) session.receiveDatagram(d, { host: r.address, port: r.port });
          });
          finish(null, session);
        }
      };
      this.socket.on('message', onMessage);
      send();
    });
  }

  private startup(chunk: Chunk): Uint8Array {
    const w = new ByteWriter(1200);
    writePacketHeader(w, MODE.STARTUP, timestampNow(this.clock.now()));
    writeChunk(w, chunk);
    return w.bytes();
  }

  /** NetConnection.call: resolves with the `_result` values, rejects with CallError on `_error`. */
  call(name: string, ...args: AMFValue[]): Promise<AMFValue[]> {
    return this.transaction(this.nextTransaction++, name, null, args, 30_000);
  }

  /**
   * A call with transaction id 0, as librtmfp's RTMFP_CallFunction sends it: resolved by the next
   * answer with id 0 (one such call at a time).
   */
  callZero(name: string, ...args: AMFValue[]): Promise<AMFValue[]> {
    return this.transaction(0, name, null, args, 30_000);
  }

  /** A call whose answer is not waited for (transaction id 0). */
  send(name: string, ...args: AMFValue[]): void {
    this.writer?.write(encodeCommand(name, 0, null, args));
  }

  private transaction(id: number, name: string, commandObject: AMFValue, args: AMFValue[], timeoutMs: number): Promise<AMFValue[]> {
    return new Promise<AMFValue[]>((resolve, reject) => {
      if (!this.writer || this.closedReason !== undefined) {
        reject(new ClosedError(`NetConnection closed${this.closedReason ? `: ${this.closedReason}` : ''}`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`${name} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (values) => {
          clearTimeout(timer);
          resolve(values);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.writer.write(encodeCommand(name, id, commandObject, args));
    });
  }

  async createStream(): Promise<number> {
    const [id] = await this.call('createStream');
    if (typeof id !== 'number') throw new WireError('createStream returned no stream id');
    return id;
  }

  /** createStream, then a NetStream bound to the new id (publish / play / media). */
  async createNetStream(): Promise<NetStream> {
    const id = await this.createStream();
    const session = this.session!;
    const stream = new NetStream({ session, netConnectionFlowId: () => this.serverNetConnectionFlowId }, id);
    this.netStreams.set(id, stream);
    return stream;
  }

  /** deleteStream: the server stops whatever the stream published or played. */
  deleteStream(stream: NetStream): void {
    this.send('deleteStream', stream.id);
    stream.close();
    this.netStreams.delete(stream.id);
  }

  /** Orderly close: Close Request until acknowledged (or a short timeout), then release the socket. */
  async close(): Promise<void> {
    const session = this.session;
    if (session && !session.closed) {
      await new Promise<void>((resolve) => {
        this.once('close', () => resolve());
        session.close('client closed');
        setTimeout(() => {
          session.kill('client closed');
          resolve();
        }, 2_000).unref();
      });
    }
    this.destroy('client closed');
  }

  /** A direct session with another client (its peer id, raw or hex) through the server's introduction. */
  connectToPeer(peerId: Uint8Array | string, timeoutMs?: number): Promise<PeerConnection> {
    return this.peers.connect(typeof peerId === 'string' ? fromHex(peerId) : peerId, timeoutMs);
  }

  /** Join a NetGroup by its 32-byte group id over a GC flow; the server introduces members on it. */
  joinGroup(groupId: Uint8Array | string): NetGroup {
    if (!this.session) throw new Error('not connected');
    const group = new NetGroup(this.session, typeof groupId === 'string' ? fromHex(groupId) : groupId, this.serverNetConnectionFlowId);
    this.netGroups.set(group.flowId, group);
    return group;
  }

  /** Drop everything at once, no protocol traffic. */
  destroy(reason = 'destroyed'): void {
    this.peers.close(reason);
    this.session?.kill(reason);
    this.failPending(reason);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private failPending(reason: string): void {
    this.closedReason ??= reason;
    for (const call of this.pending.values()) call.reject(new ClosedError(`NetConnection closed: ${reason}`));
    this.pending.clear();
  }

  // SessionDelegate ---------------------------------------------------------------------------------------
  onFlow(_session: Session, opening: FlowOpening): FlowHandler | null {
    const signature = opening.signature;
    if (signature && equalBytes(signature, GC_SIGNATURE)) {
      const group = opening.associatedFlowId === undefined ? undefined : this.netGroups.get(opening.associatedFlowId);
      return group?.flow() ?? null;
    }
    if (!signature || signature.length < 4 || signature[0] !== 0x54 || signature[1] !== 0x43) return null;
    const streamId = decodeVLU(signature, 3);
    if (streamId !== 0) return this.netStreams.get(streamId)?.flow() ?? null;
    this.serverNetConnectionFlowId ??= opening.flowId;
    return { onMessage: (message) => this.onMessage(message) };
  }

  onForwardedHello(_session: Session, chunk: FIHelloChunk): void {
    this.peers.onForwardedHello(chunk);
  }

  onClosed(_session: Session, reason: string): void {
    this.failPending(reason);
    this.emit('close', reason);
  }

  private onMessage(message: Uint8Array): void {
    let tc;
    try {
      tc = decodeTCMessage(message);
      if (tc.type === TC.COMMAND_AMF0 || tc.type === TC.COMMAND_AMF3) {
        const command = decodeCommand(tc);
        this.onCommand(command.name, command.transactionId, command.args);
      } else if (tc.type === TC.DATA_AMF0 || tc.type === TC.DATA_AMF3) {
        const data = decodeData(tc);
        this.emit('data', data.name, data.args);
      } else if (tc.type === TC.USER_CONTROL) {
        const control = decodeUserControl(tc);
        if (control.event === UserControl.SET_KEEPALIVE_TIMERS) {
          this.keepAliveServerMs = control.values[0] ?? 0;
          this.keepAlivePeerMs = control.values[1] ?? 0;
        }
      }
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.logger.debug({ err: error.message, code: error.code }, 'malformed message from server');
    }
  }

  private onCommand(name: string, transactionId: number, args: AMFValue[]): void {
    switch (name) {
      case '_result':
        this.settle(transactionId, (call) => call.resolve(args));
        return;
      case '_error':
        this.settle(transactionId, (call) => call.reject(callError(args[0] ?? null)));
        return;
      case 'onStatus': {
        const info = args[0];
        if (isAMFObject(info)) this.emit('status', info);
        return;
      }
      case 'close':
        this.session?.close('closed by server');
        return;
      default:
        this.emit('invocation', name, args);
    }
  }

  private settle(transactionId: number, action: (call: PendingCall) => void): void {
    const call = this.pending.get(transactionId);
    if (!call) return;
    this.pending.delete(transactionId);
    action(call);
  }
}

/** EPD for a server connection: one ancillary-data option (0x0a) holding the URL, no marker, as Flash sends it. */
export function urlEndpointDiscriminator(url: string): Uint8Array {
  const w = new ByteWriter(url.length + 4);
  writeOption(w, 0x0a, utf8Encode(url));
  return w.bytes();
}
