// The boundary between the Lua host (src/app) and the server: what the host needs from a session
// and its writers, and what the server calls on the host. The session layer implements the ports.
import type { AMFObject, AMFValue } from '../flash/amf/types.ts';
import type { AMFReadOptions } from '../flash/amf/reader.ts';
import type { AMFWriteOptions } from '../flash/amf/writer.ts';
import type { ClientPort, GroupPort, GroupsPort, MemberPort, WriterPort } from '../core/ports.ts';

// one definition of what a session offers the application, in the server's boundary file
export type { ClientPort, GroupPort, GroupsPort, MemberPort, WriterPort };

/** Addresses "host:port" to redirect a handshake to; [] = answer normally; may hold HANDSHAKE_AGAIN. */
export type HandshakeRedirect = string[];
/** In a HandshakeRedirect: also answer the handshake ourselves (the script returned "again"). */
export const HANDSHAKE_AGAIN = 'again';

export type ConnectionAnswer = { accepted: true; info: AMFObject; timeout?: number } | { accepted: false; description: string };
export type CallAnswer = { ok: true; results: AMFValue[] } | { ok: false; code: string; description: string };

export interface ApplicationHost {
  /** builds and starts www/main.lua (onStart) */
  start(): void;
  /** onStop for every application, children first */
  stop(): void;
  /** connect: args = the values after the command object. Errors in Lua → rejected with the message. */
  onConnection(client: ClientPort, args: AMFValue[]): ConnectionAnswer;
  onDisconnection(client: ClientPort): void;
  /** the client can no longer be written to; onDisconnection is still expected afterwards */
  onFailed(client: ClientPort, error: string): void;
  onAddressChanged(client: ClientPort, oldAddress: string): void;
  /** NetConnection.call(name, ...). name '' → client:onMessage. */
  onCall(client: ClientPort, name: string, transactionId: number, args: AMFValue[]): CallAnswer;
  onHandshake(address: string, path: string, properties: Record<string, string>, attempts: number): HandshakeRedirect;
  /** a peer id not connected here: addresses to redirect to (same form as onHandshake's); [] = no answer */
  onRendezVousUnknown(peerId: string, protocol: string): HandshakeRedirect;
  /** the client's member is on the group's ring; client:onJoinGroup(group) or onJoinGroup(client, group) */
  onJoinGroup(client: ClientPort, group: GroupPort): void;
  /** the client left the group (before its onDisconnection when it leaves by disconnecting) */
  onUnjoinGroup(client: ClientPort, group: GroupPort): void;
  /** every 2 s: root onManage, each client:onManage, each created writer's onManage */
  onManage(): void;
  /** path escape checks; the normalized path ('a/b') or why it is refused */
  resolvePath(path: string): { ok: true; path: string } | { ok: false; reason: string };
  /**
   * AMF hooks for values the server decodes for scripts (externalizable classes handled by
   * __readExternal) and encodes from scripts (__writeExternal): pass them to AMFReader/AMFWriter.
   */
  readonly amfReadOptions: AMFReadOptions;
  readonly amfWriteOptions: AMFWriteOptions;
}

export interface ServerPort {
  readonly clients: Iterable<ClientPort>;
  clientById(rawId: Uint8Array): ClientPort | undefined;
  /** ini content: section → key → value; top-level keys under section '' */
  configs: Record<string, Record<string, string>>;
  /** as configured ("host:port") */
  publicAddress: string;
  /** ms since epoch */
  startTime: number;
  blacklist: { add(address: string): void; remove(address: string): void };
  /** NetGroups (Lua `groups`, mona:joinGroup); absent: no group ever exists */
  readonly groups?: GroupsPort;
}
