// Life of one server link (a TCP connection of MonaServer's server-to-server protocol, MonaServer-behaviour.md
// §1.3-§1.7): the hello exchange, then connected until either side closes, rejects or goes silent. Frames never
// reach this machine: the link core reports the hello, a reject and the socket's end.
import { assign, setup } from 'xstate';

export interface ServerLinkContext {
  /** which link core implements this actor (src/actors/bindings.ts) */
  key: number;
  reason: string;
}

export type ServerLinkEvent =
  | { type: 'HELLO' } // the peer's hello was received and admitted (and ours is sent)
  | { type: 'REJECT'; reason: string } // a reject was sent or received: the socket ends
  | { type: 'CLOSE'; reason: string } // local orderly close (shutdown)
  | { type: 'FAIL'; reason: string } // malformed input, oversized frame, peer not reading, socket error
  | { type: 'SOCKET_CLOSED' };

export interface ServerLinkInput {
  key: number;
}

export const serverLinkMachine = setup({
  types: {
    context: {} as ServerLinkContext,
    events: {} as ServerLinkEvent,
    input: {} as ServerLinkInput,
  },
  actions: {
    /** the registry lists the link, the application hears onServerConnection */
    connected: () => {},
    /** a ping frame when nothing was sent for a ping interval (Nimbus peers only) */
    ping: () => {},
    endSocket: () => {},
    destroySocket: () => {},
    /** the registry forgets the link, the application hears onServerDisconnection */
    closed: () => {},
  },
  guards: {
    /** a Nimbus peer heard nothing from for the silence timeout */
    silent: () => false,
  },
  delays: {
    greetingTimeout: 5_000,
    pingInterval: 2_000,
    closeTimeout: 2_000,
  },
}).createMachine({
  id: 'serverLink',
  context: ({ input }) => ({ key: input.key, reason: '' }),
  initial: 'greeting',
  on: {
    SOCKET_CLOSED: { target: '.closed', actions: assign({ reason: ({ context }) => context.reason || 'socket closed' }) },
  },
  states: {
    greeting: {
      on: {
        HELLO: { target: 'connected', actions: 'connected' },
        REJECT: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      after: { greetingTimeout: { target: 'failed', actions: assign({ reason: 'no hello in time' }) } },
    },
    connected: {
      on: {
        REJECT: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      after: {
        pingInterval: [
          { guard: 'silent', target: 'failed', actions: assign({ reason: 'peer silent (ping timeout)' }) },
          { target: 'connected', reenter: true, actions: 'ping' },
        ],
      },
    },
    closing: {
      entry: 'endSocket',
      on: { FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) } },
      after: { closeTimeout: { target: 'closed', actions: 'destroySocket' } },
    },
    failed: {
      entry: 'destroySocket',
    },
    closed: { type: 'final', entry: 'closed' },
  },
});
