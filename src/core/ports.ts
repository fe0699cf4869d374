// The one boundary between protocols and the application layer. Protocols (src/protocols/*) implement
// ClientPort and WriterPort for their connections and call an ApplicationPort; the Lua host (src/app)
// implements ApplicationPort and sees the server only through ServerPort (src/core/core.ts). Everything
// here is structural, so the server runs without an application (acceptAll), as transport tests do.
import type { AMFObject, AMFValue } from '../flash/amf/types.ts';
import type { AMFReadOptions } from '../flash/amf/reader.ts';
import type { AMFWriteOptions } from '../flash/amf/writer.ts';

/** What a client's protocol is called in scripts (`client.protocol`, MonaServer's names). */
export type ProtocolName = 'RTMFP' | 'RTMP' | 'HTTP' | 'WebSocket';

export interface WriterPort {
  readonly closed: boolean;
  reliable: boolean;
  /** server → client call (transaction 0) */
  writeInvocation(name: string, args: AMFValue[]): void;
  /** `_result` for a transaction */
  writeResult(transactionId: number, values: AMFValue[]): void;
  /** onStatus; `code` is complete ("NetConnection.Call.Failed") */
  writeStatus(code: string, description: string, level?: 'status' | 'error', extra?: AMFObject): void;
  /** data message (handler name + values) */
  writeData(name: string, args: AMFValue[]): void;
  writeRaw(bytes: Uint8Array): void;
  flush(full?: boolean): void;
  /** a new writer on the same connection */
  newWriter(): WriterPort;
  /** main writer: closes the connection; `code` is a WebSocket close code (MonaServer's writer:close(code)) */
  close(code?: number): void;
  /**
   * writeMessage during a call is sent at once, in call order, and the call's return values after it (MonaServer's
   * WebSocket). Without it, what writeMessage writes during a call joins the call's answer.
   */
  readonly resultsInCallOrder?: boolean;
}

export interface ClientPort {
  /** which protocol carries this client */
  readonly protocol: ProtocolName;
  /** 32-byte id (RTMFP: the peer id); id = hex (64 chars) */
  readonly rawId: Uint8Array;
  /** "ip:port", current public address */
  readonly address: string;
  /** application path as connected ('' root, 'a/b'), before any check */
  readonly path: string;
  /** raw query string of the connect URL, without '?' */
  readonly query: string;
  /** the connect command object (app, flashVer, swfUrl, tcUrl, pageUrl, ...) */
  readonly properties: AMFObject;
  /** ms */
  readonly ping: number;
  /** ms since epoch (float) */
  readonly lastReceptionTime: number;
  /** from setPeerInfo (RTMFP); empty elsewhere */
  readonly peerAddresses: readonly string[];
  /** the NetConnection writer */
  readonly writer: WriterPort;
  /** onConnection's `timeout` field: how long a silent client is kept (seconds) */
  setTimeout?(seconds: number): void;
}

/** Addresses "host:port" to redirect a handshake or rendezvous to; [] = answer normally; may hold HANDSHAKE_AGAIN. */
export type HandshakeRedirect = string[];
/** In a HandshakeRedirect: also answer the handshake ourselves (the script returned "again"). */
export const HANDSHAKE_AGAIN = 'again';

export type ConnectionVerdict = { accepted: true; info: AMFObject; timeout?: number } | { accepted: false; description: string };

export type CallOutcome = { ok: true; results: AMFValue[] } | { ok: false; code: string; description: string };

/** `missing`: the path is well formed and safe, but no application folder is there. */
export type PathCheck = { ok: true; path: string } | { ok: false; reason: string; missing?: true };

/**
 * What `client:onRead(file, ...)` decided for an HTTP file request (MonaServer's onFileAccess): serve `file` (the
 * requested one or the one the script named, with `<% key %>` template values), refuse it (an explicit nil: 403),
 * or fail (a script error: 500). `returned` is false when the script returned nothing (or has no onRead): what it
 * wrote with writer:writeRaw, if anything, is then the response.
 */
export type ReadOutcome =
  { kind: 'serve'; file: string; parameters?: AMFObject; returned: boolean } | { kind: 'refuse' } | { kind: 'error'; description: string };

/** What protocols call on the application (the Lua host, or acceptAll). A script error never escapes it. */
export interface ApplicationPort {
  /** builds and starts the applications (onStart) */
  start(): void;
  /** onStop for every application, children first */
  stop(): void;
  /** connect: args = the values after the command object; an error in a script rejects with its message */
  onConnection(client: ClientPort, args: AMFValue[]): ConnectionVerdict;
  onDisconnection(client: ClientPort): void;
  /** the client can no longer be written to; onDisconnection is still expected afterwards */
  onFailed(client: ClientPort, error: string): void;
  onAddressChanged(client: ClientPort, oldAddress: string): void;
  /** NetConnection.call(name, ...); name '' → client:onMessage */
  onCall(client: ClientPort, name: string, transactionId: number, args: AMFValue[]): CallOutcome;
  onHandshake(address: string, path: string, properties: Record<string, string>, attempts: number): HandshakeRedirect;
  /**
   * A rendezvous for a peer id not connected here (RTMFP.md §6.4): where to redirect the requester.
   * `peerId` is 64 hex characters; `protocol` is passed first by Mona's signature, not at all by Cumulus'.
   */
  onRendezVousUnknown(peerId: string, protocol: ProtocolName): HandshakeRedirect;
  /**
   * Asked when onRendezVousUnknown redirected nowhere: a directory lookup (cluster mode) that may take a
   * round trip to another store; the requester is answered when it settles. Absent: no answer, as before.
   */
  locatePeer?(peerId: string): Promise<HandshakeRedirect>;
  /** A client joined a NetGroup (its member is on the ring, before the introductions go out). */
  onJoinGroup(client: ClientPort, group: GroupPort): void;
  /** A client left a NetGroup (flow end or disconnection, always before onDisconnection). */
  onUnjoinGroup(client: ClientPort, group: GroupPort): void;
  /** every 2 s: root onManage, each client:onManage, each created writer's onManage */
  onManage(): void;
  /** HTTP: client:onRead(file, args...) of a connected client; absent: every file is served */
  onRead?(client: ClientPort, file: string, args: AMFValue[]): ReadOutcome;
  /** HTTP and WebSocket: whether the connected client has a method `name` (a file name without extension calls it) */
  hasMethod?(client: ClientPort, name: string): boolean;
  /** path escape checks: the normalized path ('a/b') or why it is refused */
  resolvePath(path: string): PathCheck;
  /** externalizable classes the application reads (__readExternal) and writes (__writeExternal) */
  readonly amfReadOptions?: AMFReadOptions;
  readonly amfWriteOptions?: AMFWriteOptions;
  /** Another server finished its hello (src/servers/): onServerConnection; a returned text rejects the link with it. */
  onServerConnection?(server: PeerServerPort): string | undefined;
  /** A handler message from a linked server: `payload` holds its serialized arguments (AMF, MonaServer's form). */
  onServerMessage?(server: PeerServerPort, handler: string, payload: Uint8Array): void;
  /** A linked server is gone (after its onServerConnection); `error` only for a socket error or a dead peer. */
  onServerDisconnection?(server: PeerServerPort, error: string | undefined): void;
}

/** Another server linked to this one over the server link (src/servers/), as the application layer sees it. */
export interface PeerServerPort {
  /** "ip:port" of the TCP peer (for an initiator: its source port, as MonaServer shows it) */
  readonly address: string;
  /** the IP of `address` */
  readonly ip: string;
  readonly port: number;
  /** true when this server dialled it ([servers] targets), false when it dialled us */
  readonly isTarget: boolean;
  /** false once the link is gone */
  readonly connected: boolean;
  /** the peer's hello pairs over this side's own target-query properties (peer wins on equal keys) */
  readonly configs: ReadonlyMap<string, string>;
  /** where clients of `protocol` are redirected to on this server ("host:port"); undefined: the protocol is off there */
  protocolAddress(protocol: ProtocolName): string | undefined;
  /** one handler message; `payload` is the serialized arguments */
  send(handler: string, payload: Uint8Array): void;
  /** sends a reject with `message` and closes the link */
  reject(message: string): void;
  /** bytes queued to the peer and not yet taken by its socket (a peer reading slower than we send) */
  readonly backlog?: number;
}

/** The linked servers (src/servers/ implements it). */
export interface ServersPort {
  /** servers past the hello, in connection order */
  readonly all: readonly PeerServerPort[];
}

/** A NetGroup as scripts see it (Lua `group`). */
export interface GroupPort {
  /** 64 hex characters */
  readonly id: string;
  /** 32 bytes */
  readonly rawId: Uint8Array;
  /** connected clients in the group (virtual members are not counted) */
  readonly size: number;
  clients(): ClientPort[];
}

/** A virtual member added by a script (Lua `member`): release() detaches it (the script's, or the collector's). */
export interface MemberPort {
  readonly id: string;
  readonly rawId: Uint8Array;
  release(): void;
}

/** Every group of the server (Lua `groups`). */
export interface GroupsPort extends Iterable<GroupPort> {
  readonly count: number;
  /** by id (hex) or raw id (32 bytes) */
  group(id: string | Uint8Array): GroupPort | undefined;
  /** groups:join / mona:joinGroup: a virtual member, null when an id is not 32 bytes (hex or raw) */
  join(peerId: string | Uint8Array, groupId: string | Uint8Array): MemberPort | null;
}

/** What the application layer sees of the server (src/core/core.ts implements it). */
export interface ServerPort {
  /** connected clients of every protocol, in connection order */
  readonly clients: Iterable<ClientPort>;
  clientById(rawId: Uint8Array): ClientPort | undefined;
  /** ini content: section → key → value; top-level keys under section '' */
  readonly configs: Record<string, Record<string, string>>;
  /** as configured or bound ("host:port") */
  readonly publicAddress: string;
  /** ms since epoch */
  readonly startTime: number;
  readonly blacklist: { add(address: string): void; remove(address: string): void };
  /** NetGroups (Lua `groups`, mona:joinGroup); absent: no group ever exists */
  readonly groups?: GroupsPort;
  /** linked servers (Lua `servers`); absent: no server link */
  readonly servers?: ServersPort;
}

/**
 * One protocol's listening side (RTMFP today; RTMP, HTTP, WebSocket next): it turns its traffic into core
 * clients, calls and publications. The composition root (src/nimbus.ts) starts and closes each enabled one.
 */
export interface ProtocolServer {
  readonly protocol: ProtocolName;
  /** binds its socket(s) */
  start(): Promise<void>;
  /** closes its clients (their onDisconnection runs) and unbinds */
  close(): Promise<void>;
}

/** No application: accept everything, answer unknown calls as Flash expects. */
export const acceptAll: ApplicationPort = {
  start() {},
  stop() {},
  onConnection: () => ({ accepted: true, info: {} }),
  onDisconnection() {},
  onFailed() {},
  onAddressChanged() {},
  onCall: (_client, name) => ({ ok: false, code: 'NetConnection.Call.Failed', description: `Method '${name}' not found` }),
  onHandshake: () => [],
  onRendezVousUnknown: () => [],
  onJoinGroup() {},
  onUnjoinGroup() {},
  onManage() {},
  resolvePath: (path) => ({ ok: true, path }),
};
