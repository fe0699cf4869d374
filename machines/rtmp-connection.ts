// Life of one RTMP connection (RTMP.md §1, §5.2, §7.1): handshake, then the NetConnection connect, then
// connected until either side closes or the client stays silent longer than [RTMP] timeout. Chunks,
// commands and media never reach this machine: the connection core reports lifecycle facts only.
import { assign, setup } from 'xstate';

export interface RtmpConnectionContext {
  /** which connection core implements this actor (src/actors/bindings.ts) */
  key: number;
  reason: string;
}

export type RtmpConnectionEvent =
  | { type: 'HANDSHAKEN' } // C0+C1 answered with a valid version (C2 is consumed, not checked)
  | { type: 'CONNECTED' } // NetConnection.Connect.Success sent
  | { type: 'REJECTED'; reason: string } // connect refused (Rejected / InvalidApp): `_error` sent, then close
  | { type: 'CLOSE'; reason: string } // local orderly close (server shutdown, writer.close(), client gone)
  | { type: 'FAIL'; reason: string } // protocol error, slow reader, socket error
  | { type: 'SOCKET_CLOSED' }; // the TCP socket is gone

export interface RtmpConnectionInput {
  key: number;
}

export const rtmpConnectionMachine = setup({
  types: {
    context: {} as RtmpConnectionContext,
    events: {} as RtmpConnectionEvent,
    input: {} as RtmpConnectionInput,
  },
  actions: {
    sendPing: () => {},
    /** flush what is queued and end the socket (FIN) */
    endSocket: () => {},
    /** the application hears onFailed; the socket is destroyed at once */
    notifyFailed: () => {},
    destroySocket: () => {},
    /** streams stop, onDisconnection, the server forgets the connection */
    closed: () => {},
  },
  guards: {
    /** nothing heard for [RTMP] timeout (the delay may fire early after activity) */
    silent: () => false,
  },
  delays: {
    handshakeTimeout: 10_000,
    /** what is left of [RTMP] timeout since the last byte heard (computed by the core) */
    idleCheck: 60_000,
    /** MonaServer pings every half timeout (MonaServer-behaviour.md §4) */
    pingInterval: 30_000,
    closeTimeout: 5_000,
  },
}).createMachine({
  id: 'rtmpConnection',
  context: ({ input }) => ({ key: input.key, reason: '' }),
  initial: 'handshake',
  on: {
    SOCKET_CLOSED: { target: '.closed', actions: assign({ reason: ({ context }) => context.reason || 'socket closed' }) },
  },
  states: {
    handshake: {
      on: {
        HANDSHAKEN: 'connecting',
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      after: { handshakeTimeout: { target: 'failed', actions: assign({ reason: 'handshake timeout' }) } },
    },
    connecting: {
      on: {
        CONNECTED: 'connected',
        REJECTED: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      after: {
        idleCheck: [
          { guard: 'silent', target: 'failed', actions: assign({ reason: 'timeout' }) },
          { target: 'connecting', reenter: true },
        ],
      },
    },
    connected: {
      on: {
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      after: {
        idleCheck: [
          { guard: 'silent', target: 'failed', actions: assign({ reason: 'timeout' }) },
          { target: 'connected', reenter: true },
        ],
      },
      initial: 'alive',
      states: {
        alive: {
          after: { pingInterval: { target: 'alive', reenter: true, actions: 'sendPing' } },
        },
      },
    },
    closing: {
      entry: 'endSocket',
      on: { FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) } },
      after: { closeTimeout: { target: 'closed', actions: 'destroySocket' } },
    },
    failed: {
      entry: ['notifyFailed', 'destroySocket'],
      after: { closeTimeout: 'closed' },
    },
    closed: { type: 'final', entry: 'closed' },
  },
});
