// Life of one receiving flow (RFC 7016 §3.6.3): open from its first fragment, which creates it, unless the
// application refuses it in the same call (REJECT: a Flow Exception sent, its fragments still acknowledged);
// complete when the FIN sequence number has been delivered, closed when it is dropped over the buffer bounds.
// Fragments never reach the machine. A flow still open when its session ends is stopped with the session, as a
// parent stops its children. (Open from the start rather than deciding in a transient state: an eventless
// transition at creation costs more than the event it saves, and refused flows are the rare ones.)
import { assign, setup } from 'xstate';

export type FlowEvent =
  | { type: 'REJECT'; reason: string } // the application refused it (unknown metadata or stream), at its creation
  | { type: 'FINISHED' } // FIN delivered
  | { type: 'CLOSE' }; // the flow was dropped over the buffer bounds

export interface FlowInput {
  /** what its metadata names: NetConnection, NetStream, NetGroup, unknown */
  kind: string;
}

export interface FlowContext {
  kind: string;
  reason: string;
}

export const flowMachine = setup({
  types: { context: {} as FlowContext, events: {} as FlowEvent, input: {} as FlowInput },
}).createMachine({
  id: 'flow',
  context: ({ input }) => ({ kind: input.kind, reason: '' }),
  initial: 'open',
  states: {
    open: {
      on: {
        REJECT: { target: 'rejected', actions: assign({ reason: ({ event }) => event.reason }) },
        FINISHED: 'complete',
        CLOSE: 'closed',
      },
    },
    rejected: {
      on: { FINISHED: 'closed', CLOSE: 'closed' },
    },
    complete: { type: 'final' },
    closed: { type: 'final' },
  },
});
