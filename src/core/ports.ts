// What the server needs from the application layer (src/app implements it with Lua). Kept structural so
// that the server runs without an application (every connection accepted), as tests of the transport do.
import type { AMFObject, AMFValue } from '../flash/amf/types.ts';
import type { AMFReadOptions } from '../flash/amf/reader.ts';
import type { AMFWriteOptions } from '../flash/amf/writer.ts';

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
  /** a new flow writer on the same session */
  newWriter(): WriterPort;
  /** main writer: closes the session */
  close(): void;
}

export interface ClientPort {
  /** 32-byte peer id; id = hex (64 chars) */
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
  /** from setPeerInfo */
  readonly peerAddresses: readonly string[];
  /** the NetConnection writer */
  readonly writer: WriterPort;
  setTimeout?(seconds: number): void;
}

export type ConnectionVerdict =
  | { accepted: true; info: AMFObject; timeout?: number }
  | { accepted: false; description: string };

export type CallOutcome = { ok: true; results: AMFValue[] } | { ok: false; code: string; description: string };

export interface ApplicationPort {
  start(): void;
  stop(): void;
  onConnection(client: ClientPort, args: AMFValue[]): ConnectionVerdict;
  onDisconnection(client: ClientPort): void;
  onFailed(client: ClientPort, error: string): void;
  onAddressChanged(client: ClientPort, oldAddress: string): void;
  onCall(client: ClientPort, name: string, transactionId: number, args: AMFValue[]): CallOutcome;
  onHandshake(address: string, path: string, properties: Record<string, string>, attempts: number): string[];
  onManage(): void;
  resolvePath(path: string): { ok: true; path: string } | { ok: false; reason: string };
  /**
   * A rendezvous for a peer id not connected here (RTMFP.md §6.4): addresses ("host:port", or "again" for this
   * server) to redirect the requester to; [] = no answer. `peerId` is 64 hex characters; `protocol` is
   * "RTMFP" (Mona passes it first, Cumulus not at all: the Lua layer picks the script's signature).
   */
  onRendezVousUnknown?(peerId: string, protocol: string): string[];
  /** A client joined a NetGroup (its member is on the ring, before the introductions go out). */
  onJoinGroup?(client: ClientPort, group: GroupPort): void;
  /** A client left a NetGroup (flow end or disconnection, always before onDisconnection). */
  onUnjoinGroup?(client: ClientPort, group: GroupPort): void;
  /** externalizable classes the application reads (__readExternal) and writes (__writeExternal) */
  readonly amfReadOptions?: AMFReadOptions;
  readonly amfWriteOptions?: AMFWriteOptions;
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

/** A virtual member added by a script (Lua `member`); there is no __gc: release() detaches it. */
export interface MemberPort {
  readonly id: string;
  readonly rawId: Uint8Array;
  release(): void;
}

/** Every group of the server (Lua `groups`); NimbusServer.groups implements it. */
export interface GroupsPort extends Iterable<GroupPort> {
  readonly count: number;
  /** by id (hex) or raw id (32 bytes) */
  group(id: string | Uint8Array): GroupPort | undefined;
  /** groups:join / mona:joinGroup: a virtual member, null when an id is not 32 bytes (hex or raw) */
  join(peerId: string | Uint8Array, groupId: string | Uint8Array): MemberPort | null;
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
  onManage() {},
  resolvePath: (path) => ({ ok: true, path }),
};
