export { NetConnection, CallError, type ConnectOptions } from './net-connection.ts';
