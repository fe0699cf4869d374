// Life of one receiving flow (RFC 7016 §3.6.3): accepted or rejected by its first fragment, which creates it
// (the session has already asked the application: the verdict is the actor's input), complete when the FIN
// sequence number has been delivered, closed when it is dropped over the buffer bounds. Fragments never reach
// the machine. A flow still open when its session ends is stopped with the session, as a parent stops its children.
import { setup } from 'xstate';

export type FlowEvent =
  | { type: 'FINISHED' } // FIN delivered
  | { type: 'CLOSE' }; // the flow was dropped over the buffer bounds

/** the application's verdict on the first fragment: a kind when accepted, a reason when rejected */
export type FlowInput =
  | { kind: string } // metadata recognised: NetConnection, NetStream, NetGroup...
  | { reason: string }; // unknown metadata or stream: 0x5e sent, fragments still acked

export interface FlowContext {
  kind: string;
  reason: string;
}

/** the application took the flow (a pure reading of the input, so it needs no binding to the session's code) */
const accepted = ({ context }: { context: FlowContext }): boolean => context.kind !== '';

export const flowMachine = setup({
  types: { context: {} as FlowContext, events: {} as FlowEvent, input: {} as FlowInput },
}).createMachine({
  id: 'flow',
  context: ({ input }) => ('kind' in input ? { kind: input.kind, reason: '' } : { kind: '', reason: input.reason }),
  initial: 'opening',
  states: {
    // transient: decided by the input as the actor starts
    opening: {
      always: [{ guard: accepted, target: 'open' }, { target: 'rejected' }],
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
