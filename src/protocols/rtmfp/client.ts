// The server's side of one connected client: the NetConnection dialogue (RTMFP.md §5.4) over a Session,
// and the ClientPort the application layer sees.
import type { Session, FlowHandler, FlowOpening, SessionDelegate, Endpoint } from './session/session.ts';
import type { FIHelloChunk } from './wire/chunks.ts';
import { FlowWriterPort, tcSignature } from './session/writer-port.ts';
import { decodeVLU, equalBytes, hex } from '../../bytes.ts';
import { WireError } from '../../errors.ts';
import { parseTcUrl } from '../../flash/tc-url.ts';
import { TC, UserControl, decodeCommand, decodeTCMessage, encodeCommand, encodeUserControl, type TCCommand } from '../../flash/tc.ts';
import { isAMFObject, type AMFObject } from '../../flash/amf/types.ts';
import type { AMFWriteOptions } from '../../flash/amf/options.ts';
import type { ApplicationPort, ClientPort, WriterPort } from '../../core/ports.ts';
import type { Core } from '../../core/core.ts';
import { clip, type Logger, type RateLimitedLog } from '../../log.ts';
import { ServerNetStream, type NetStreamHost } from './net-stream.ts';
import { GC_SIGNATURE, groupFlow, type GroupRegistry } from './groups.ts';

const TC_PREFIX = Uint8Array.of(0x54, 0x43);
const NETCONNECTION_SIGNATURE = tcSignature(0);
/** NetStreams one client may hold at once (each costs writers on the server). */
export const MAX_STREAMS = 1024;
const NO_STREAMS: Set<number> = new Set();
const NO_ADDRESSES: readonly string[] = Object.freeze([]);
const NO_NET_STREAMS: ReadonlyMap<number, ServerNetStream> = new Map();

/** The main writer's AMF options, one object per application's options and AMF0 choice, not one per client. */
const NO_AMF_OPTIONS: AMFWriteOptions = {};
const writerOptions = new WeakMap<AMFWriteOptions, { amf0: AMFWriteOptions; any: AMFWriteOptions }>();

function mainWriterOptions(options: AMFWriteOptions, amf0Only: boolean): AMFWriteOptions {
  let both = writerOptions.get(options);
  if (!both) writerOptions.set(options, (both = { amf0: { ...options, amf0Only: true }, any: { ...options, amf0Only: false } }));
  return amf0Only ? both.amf0 : both.any;
}

export interface ServerClientOptions {
  /** the application, streams and client registry this client takes part in */
  core: Core;
  keepAliveServerMs: number;
  keepAlivePeerMs: number;
  /** where refusals caused by input are logged, once per interval per cause (the server's); the client's logger otherwise */
  rateLog?: RateLimitedLog;
  /** the application accepted the connection: the session is no longer half-open */
  onConnected?(client: ServerClient): void;
  /** the session is gone (after onDisconnection), and why */
  onClosed(client: ServerClient, reason: string): void;
  /** the server's NetGroup registry; GC flows are refused without one */
  groups?: GroupRegistry;
  /** the session moved (the rendezvous index follows it) */
  onAddressChanged?(client: ServerClient, previous: Endpoint): void;
}

export class ServerClient implements SessionDelegate, ClientPort {
  readonly protocol = 'RTMFP';
  session!: Session;
  readonly logger: Logger;
  properties: AMFObject = {};
  path = '';
  query = '';
  /** setPeerInfo's addresses (replaced whole, never changed in place: none shares one empty list) */
  peerAddresses: readonly string[] = NO_ADDRESSES;
  connected = false;
  private mainWriter: FlowWriterPort | undefined;
  /** made on the first createStream: an idle client holds neither */
  private streams = NO_STREAMS;
  /** NetStream objects of the created streams that have opened a flow, by stream id (made with the first) */
  private streamsOpen: Map<number, ServerNetStream> | undefined;
  private readonly options: ServerClientOptions;
  private disconnectNotified = false;

  constructor(logger: Logger, options: ServerClientOptions) {
    this.logger = logger;
    this.options = options;
  }

  get netStreams(): ReadonlyMap<number, ServerNetStream> {
    return this.streamsOpen ?? NO_NET_STREAMS;
  }

  private get application(): ApplicationPort {
    return this.options.core.application;
  }

  attach(session: Session): void {
    this.session = session;
  }

  // ClientPort ------------------------------------------------------------------------------------------
  get rawId(): Uint8Array {
    return this.session.peerId ?? new Uint8Array(32);
  }

  get id(): string {
    return hex(this.rawId);
  }

  get address(): string {
    return formatEndpoint(this.session.address);
  }

  get ping(): number {
    return Math.round(this.session.srtt);
  }

  get lastReceptionTime(): number {
    return this.session.lastReceptionTime;
  }

  get writer(): WriterPort {
    return this.mainWriter ?? closedWriter;
  }

  /** onConnection's `timeout` field: how long a silent client is kept (seconds). */
  setTimeout(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.session.timeoutMs = seconds * 1000;
  }

  // SessionDelegate --------------------------------------------------------------------------------------
  onFlow(_session: Session, opening: FlowOpening): FlowHandler | null {
    const signature = opening.signature;
    if (signature && equalBytes(signature, GC_SIGNATURE)) return this.groupFlow(opening.flowId);
    if (!signature || signature.length < 4 || !equalBytes(signature.subarray(0, 2), TC_PREFIX)) return null;
    if ((signature[2]! & 0x04) === 0) return null;
    const streamId = decodeVLU(signature, 3);
    if (streamId === 0) return this.netConnectionFlow(opening.flowId);
    if (!this.streams.has(streamId)) return null;
    let stream = this.netStreams.get(streamId);
    if (!stream) {
      stream = new ServerNetStream(this.streamHost(), streamId);
      (this.streamsOpen ??= new Map()).set(streamId, stream);
    }
    return stream.flow();
  }

  onFailed(_session: Session, reason: string): void {
    if (this.connected) this.application.onFailed(this, reason);
    // a failed session is gone for the application at once, not when its close dialogue ends (closeTimeout later):
    // its publications and listeners are released, its stream names free, onDisconnection runs now
    this.release();
  }

  onClosed(_session: Session, reason: string): void {
    this.logger.debug({ reason }, 'session closed');
    this.release();
    this.options.onClosed(this, reason);
  }

  /** Streams closed, groups left (onUnjoinGroup before onDisconnection), then onDisconnection, once. */
  private release(): void {
    for (const stream of this.netStreams.values()) stream.close();
    this.streamsOpen = undefined;
    this.options.groups?.leaveAll(this);
    if (this.connected && !this.disconnectNotified) {
      this.disconnectNotified = true;
      this.application.onDisconnection(this);
      this.options.core.removeClient(this);
    }
  }

  onAddressChanged(_session: Session, previous: Endpoint): void {
    this.options.onAddressChanged?.(this, previous);
    if (this.connected) this.application.onAddressChanged(this, formatEndpoint(previous));
  }

  onForwardedHello(_session: Session, _chunk: FIHelloChunk): void {}

  private streamHost(): NetStreamHost {
    return {
      session: this.session,
      client: this,
      publications: this.options.core.publications,
      logger: this.logger,
      netConnectionFlowId: () => this.mainWriter?.writer.associatedFlowId,
    };
  }

  /** NetGroup bootstrap (RTMFP.md §6.6): connected clients only; answers go on a GC writer tied to this flow. */
  private groupFlow(flowId: number): FlowHandler | null {
    const groups = this.options.groups;
    if (!groups || !this.connected) return null;
    return groupFlow(groups, {
      client: this,
      logger: this.logger,
      openChannel: () => {
        const writer = this.session.newWriter(GC_SIGNATURE, flowId);
        return {
          write: (message) => {
            if (this.session.usable) writer.write(message);
          },
          close: () => writer.close(),
        };
      },
    });
  }

  // NetConnection ----------------------------------------------------------------------------------------
  private netConnectionFlow(flowId: number): FlowHandler {
    return {
      onMessage: (message) => {
        try {
          this.onNetConnectionMessage(flowId, message);
        } catch (error) {
          if (!(error instanceof WireError)) throw error;
          this.logger.debug({ err: error.message, code: error.code }, 'malformed NetConnection message');
        }
      },
      onEnd: () => this.session.close('NetConnection flow closed'),
    };
  }

  private onNetConnectionMessage(flowId: number, message: Uint8Array): void {
    const tc = decodeTCMessage(message);
    if (tc.type === TC.COMMAND_AMF0 || tc.type === TC.COMMAND_AMF3) {
      this.onCommand(flowId, decodeCommand(tc, this.application.amfReadOptions));
    } else if (tc.type === TC.USER_CONTROL) {
      // SetBufferLength and friends: nothing to answer over RTMFP (RTMFP.md §5.4.4)
    }
  }

  private onCommand(flowId: number, command: TCCommand): void {
    if (command.name === 'connect') {
      this.onConnect(flowId, command);
      return;
    }
    const writer = this.mainWriter;
    if (!writer || !this.connected) {
      this.ensureWriter(flowId, false).writeError(
        command.transactionId,
        'NetConnection.Call.Failed',
        'Client must be connected before remote procedure calling',
      );
      return;
    }
    switch (command.name) {
      case 'setPeerInfo':
        this.peerAddresses = command.args.filter((a): a is string => typeof a === 'string');
        writer.write(encodeUserControl(UserControl.SET_KEEPALIVE_TIMERS, this.options.keepAliveServerMs, this.options.keepAlivePeerMs));
        return;
      case 'createStream': {
        if (this.streams.size >= MAX_STREAMS) {
          writer.writeError(command.transactionId, 'NetConnection.Call.Failed', `Too many streams (${MAX_STREAMS})`);
          return;
        }
        let id = 1;
        while (this.streams.has(id)) id++;
        if (this.streams === NO_STREAMS) this.streams = new Set();
        this.streams.add(id);
        writer.write(encodeCommand('_result', command.transactionId, null, [id], { amf0Only: true }));
        return;
      }
      case 'deleteStream': {
        const id = command.args[0];
        if (typeof id === 'number') {
          this.streams.delete(id);
          this.netStreams.get(id)?.close();
          this.streamsOpen?.delete(id);
        }
        return;
      }
      case 'initStream':
        return;
      default: {
        const outcome = this.application.onCall(this, command.name, command.transactionId, command.args);
        if (outcome.ok) {
          // transaction 0 too: librtmfp's RTMFP_CallFunction and NetConnection.call without a responder
          // send it, and both reference servers answer it
          writer.writeResult(command.transactionId, outcome.results);
        } else {
          writer.writeError(command.transactionId, outcome.code, outcome.description);
        }
      }
    }
  }

  private ensureWriter(flowId: number, amf0Only: boolean): FlowWriterPort {
    if (!this.mainWriter) {
      const writer = this.session.newWriter(NETCONNECTION_SIGNATURE, flowId);
      writer.critical = true;
      this.mainWriter = new FlowWriterPort(
        this.session,
        writer,
        mainWriterOptions(this.application.amfWriteOptions ?? NO_AMF_OPTIONS, amf0Only),
      );
    }
    return this.mainWriter;
  }

  private onConnect(flowId: number, command: TCCommand): void {
    if (this.connected) return;
    const properties = isAMFObject(command.commandObject) ? command.commandObject : {};
    this.properties = properties;
    const objectEncoding = typeof properties.objectEncoding === 'number' ? properties.objectEncoding : 3;
    const writer = this.ensureWriter(flowId, objectEncoding === 0);
    const url = parseTcUrl(typeof properties.tcUrl === 'string' ? properties.tcUrl : '', properties.app);
    const resolved = this.application.resolvePath(url.path);
    if (!resolved.ok) {
      const fields = { address: this.address, path: clip(url.path), reason: resolved.reason };
      if (this.options.rateLog) this.options.rateLog.log('warn', 'connection-path-rejected', 'connection path rejected', fields);
      else this.logger.warn(fields, 'connection path rejected');
      this.reject(writer, command.transactionId, 'NetConnection.Connect.InvalidApp', resolved.reason);
      return;
    }
    this.path = resolved.path;
    this.query = url.query;
    const verdict = this.application.onConnection(this, command.args);
    if (!verdict.accepted) {
      this.reject(writer, command.transactionId, 'NetConnection.Connect.Rejected', verdict.description);
      return;
    }
    this.connected = true;
    this.options.core.addClient(this);
    const info: AMFObject = {
      level: 'status',
      code: 'NetConnection.Connect.Success',
      description: 'Connection succeeded',
      objectEncoding,
      ...verdict.info,
    };
    writer.write(encodeCommand('_result', command.transactionId, null, [info], { amf0Only: true }));
    this.session.actor.send({ type: 'CONNECTED' });
    this.options.onConnected?.(this);
    this.logger.info(
      { path: clip(this.path), flashVer: typeof properties.flashVer === 'string' ? clip(properties.flashVer) : undefined },
      'client connected',
    );
  }

  private reject(writer: FlowWriterPort, transactionId: number, code: string, description: string): void {
    writer.writeError(transactionId, code, description);
    writer.write(encodeCommand('close', 0, null, [], { amf0Only: true }));
    this.session.flush();
    this.session.actor.send({ type: 'REJECTED', reason: description });
  }
}

const closedWriter: WriterPort = {
  closed: true,
  reliable: true,
  writeInvocation() {},
  writeResult() {},
  writeStatus() {},
  writeData() {},
  writeRaw() {},
  flush() {},
  newWriter: () => closedWriter,
  close() {},
};

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
