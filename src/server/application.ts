// What the server needs from the application layer (src/app implements it with Lua). Kept structural so
// that the server runs without an application (every connection accepted), as tests of the transport do.
import type { AMFObject, AMFValue } from '../wire/amf/types.ts';

export interface WriterPort {
  readonly closed: boolean;
  reliable: boolean;
  writeInvocation(name: string, args: AMFValue[]): void;
  writeResult(transactionId: number, values: AMFValue[]): void;
  writeStatus(code: string, description: string, level?: 'status' | 'error', extra?: AMFObject): void;
  writeData(name: string, args: AMFValue[]): void;
  writeRaw(bytes: Uint8Array): void;
  flush(full?: boolean): void;
  newWriter(): WriterPort;
  close(): void;
}

export interface ClientPort {
  readonly rawId: Uint8Array;
  readonly address: string;
  readonly path: string;
  readonly query: string;
  readonly properties: AMFObject;
  readonly ping: number;
  readonly lastReceptionTime: number;
  readonly peerAddresses: readonly string[];
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
