// Life of one RTMFP session (RFC 7016 §3.5, RTMFP.md §7), the same for server and client roles.
// Per-packet work never reaches this machine: the session core reports only lifecycle facts
// (first packet under the session keys, silence, life after silence, close chunks, failures).
import { assign, setup } from 'xstate';

export interface SessionContext {
  /** which session core implements this actor (the implementations look it up: see src/actors/bindings.ts) */
  key: number;
  /** unanswered keepalive pings sent since the last packet heard */
  pings: number;
  maxPings: number;
  reason: string;
}

export type SessionEvent =
  | { type: 'KEYED' } // first valid packet under the session keys
  | { type: 'HEARD' } // a packet arrived while we were pinging
  | { type: 'CONNECTED' } // NetConnection.Connect.Success sent (or received, client role)
  | { type: 'REJECTED'; reason: string } // connection refused by the application
  | { type: 'CLOSE'; reason: string } // local orderly close
  | { type: 'FAR_CLOSE' } // 0x0c received
  | { type: 'FAR_CLOSE_ACK' } // 0x4c received
  | { type: 'FAIL'; reason: string } // writer gave up, protocol error, ...
  | { type: 'ADDRESS_CHANGED'; host: string; port: number } // the far end answered a mobility check from there
  | { type: 'REARM' }; // the keepalive period or session timeout changed

export interface SessionInput {
  key: number;
  maxPings: number;
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actions: {
    opened: () => {},
    sendPing: () => {},
    sendClose: () => {},
    sendCloseAck: () => {},
    notifyFailed: () => {},
    /** the session talks to the new address from now on; the delegate hears the move */
    changeAddress: () => {},
    closed: () => {},
  },
  guards: {
    /** true when the core has heard nothing for the keepalive period (the delay may fire early after activity) */
    silent: () => false,
    /** no answer to maxPings pings, or silent longer than the session timeout the application set */
    unanswered: ({ context }) => context.pings >= context.maxPings,
  },
  delays: {
    keyingTimeout: 95_000,
    keepAlive: 15_000,
    pingInterval: 2_000,
    closeRepeat: 2_000,
    closeTimeout: 20_000,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ key: input.key, pings: 0, maxPings: input.maxPings, reason: '' }),
  initial: 'keying',
  states: {
    keying: {
      on: {
        KEYED: { target: 'open', actions: 'opened' },
        FAR_CLOSE: { target: 'closed', actions: 'sendCloseAck' },
        FAR_CLOSE_ACK: 'closed',
        CLOSE: 'closed',
        FAIL: 'closed',
      },
      after: { keyingTimeout: { target: 'closed', actions: assign({ reason: 'keying timeout' }) } },
    },
    open: {
      type: 'parallel',
      on: {
        ADDRESS_CHANGED: { actions: 'changeAddress' },
        CLOSE: { target: 'closing', actions: assign({ reason: ({ event }) => event.reason }) },
        FAR_CLOSE: { target: 'closed', actions: ['sendCloseAck', assign({ reason: 'closed by peer' })] },
        FAR_CLOSE_ACK: { target: 'closed', actions: assign({ reason: 'closed by peer' }) },
        FAIL: { target: 'failed', actions: assign({ reason: ({ event }) => event.reason }) },
      },
      states: {
        connection: {
          initial: 'connecting',
          states: {
            connecting: {
              on: {
                CONNECTED: 'connected',
                REJECTED: {
                  target: '#session.closing',
                  actions: assign({ reason: ({ event }) => event.reason }),
                },
              },
            },
            connected: {},
          },
        },
        liveness: {
          initial: 'alive',
          states: {
            alive: {
              entry: assign({ pings: 0 }),
              on: { REARM: { target: 'alive', reenter: true } },
              after: {
                keepAlive: [
                  { guard: 'silent', target: 'pinging' },
                  { target: 'alive', reenter: true },
                ],
              },
            },
            pinging: {
              entry: [assign({ pings: ({ context }) => context.pings + 1 }), 'sendPing'],
              on: { HEARD: 'alive' },
              after: {
                pingInterval: [
                  {
                    guard: 'unanswered',
                    target: '#session.failed',
                    actions: assign({ reason: 'keepalive timeout' }),
                  },
                  { target: 'pinging', reenter: true },
                ],
              },
            },
          },
        },
      },
    },
    closing: {
      on: { FAR_CLOSE_ACK: 'closed', FAR_CLOSE: { target: 'closed', actions: 'sendCloseAck' } },
      after: { closeTimeout: 'closed' },
      initial: 'requesting',
      states: {
        requesting: {
          entry: 'sendClose',
          after: { closeRepeat: { target: 'requesting', reenter: true } },
        },
      },
    },
    failed: {
      entry: 'notifyFailed',
      on: { FAR_CLOSE_ACK: 'closed', FAR_CLOSE: { target: 'closed', actions: 'sendCloseAck' } },
      after: { closeTimeout: 'closed' },
      initial: 'requesting',
      states: {
        requesting: {
          entry: 'sendClose',
          after: { closeRepeat: { target: 'requesting', reenter: true } },
        },
      },
    },
    closed: { type: 'final', entry: 'closed' },
  },
});
