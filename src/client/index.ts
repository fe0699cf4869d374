export { NetConnection, CallError, type ConnectOptions } from './net-connection.ts';
export { ClosedError, ConnectError, NimbusError, StatusError, TimeoutError, WireError } from '../errors.ts';
export { NetStream } from './net-stream.ts';
export { PeerConnection } from './peer.ts';
export { NetGroup } from './group.ts';
