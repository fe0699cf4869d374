// Life of one receiving flow (RFC 7016 §3.6.3): accepted or rejected when its first fragment arrives,
// complete when the FIN sequence number has been delivered, closed when its session ends first (or the flow is
// dropped over the buffer bounds). Fragments never reach the machine. `opening` lasts no longer than the call
// that creates the flow: the first fragment decides it at once.
import { assign, setup } from 'xstate';

export type FlowEvent =
  | { type: 'ACCEPT'; kind: string } // metadata recognised: NetConnection, NetStream, NetGroup...
  | { type: 'REJECT'; reason: string } // unknown metadata or stream: 0x5e sent, fragments still acked
  | { type: 'FINISHED' } // FIN delivered
  | { type: 'CLOSE' }; // session ended, or the flow was dropped over the buffer bounds

export interface FlowContext {
  kind: string;
  reason: string;
}

export const flowMachine = setup({
  types: { context: {} as FlowContext, events: {} as FlowEvent },
}).createMachine({
  id: 'flow',
  context: { kind: '', reason: '' },
  initial: 'opening',
  states: {
    opening: {
      on: {
        ACCEPT: { target: 'open', actions: assign({ kind: ({ event }) => event.kind }) },
        REJECT: { target: 'rejected', actions: assign({ reason: ({ event }) => event.reason }) },
      },
    },
    open: {
      on: { FINISHED: 'complete', CLOSE: 'closed' },
    },
    rejected: {
      on: { FINISHED: 'closed', CLOSE: 'closed' },
    },
    complete: { type: 'final' },
    closed: { type: 'final' },
  },
});
