export { NetConnection, CallError, type ConnectOptions } from './net-connection.ts';
export { NetStream } from './net-stream.ts';
