// A machine whose every step a test drives by an event (opening → open → complete, or closed), for tests of the
// inspector's bookkeeping: the real flow machine decides its first step from its input as it starts.
import { setup } from 'xstate';

export type SteppedEvent = { type: 'ACCEPT'; kind: string } | { type: 'FINISHED' } | { type: 'CLOSE' };

export const steppedMachine = setup({ types: { events: {} as SteppedEvent } }).createMachine({
  id: 'flow',
  initial: 'opening',
  states: {
    opening: { on: { ACCEPT: 'open', CLOSE: 'closed' } },
    open: { on: { FINISHED: 'complete', CLOSE: 'closed' } },
    complete: { type: 'final' },
    closed: { type: 'final' },
  },
});
