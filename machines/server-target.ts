// One configured target of the server link ([servers] targets): dial, stay linked, and after a failure or a
// disconnection dial again after a back-off (MonaServer retries every 16 s, MonaServer-behaviour.md §1.7).
import { setup } from 'xstate';

export interface ServerTargetContext {
  key: number;
}

export type ServerTargetEvent =
  | { type: 'LINKED' } // the hello exchange completed
  | { type: 'DOWN' } // the connection attempt failed or the link closed
  | { type: 'STOP' };

export const serverTargetMachine = setup({
  types: {
    context: {} as ServerTargetContext,
    events: {} as ServerTargetEvent,
    input: {} as { key: number },
  },
  actions: {
    /** opens a TCP connection and a link on it */
    dial: () => {},
    /** the back-off restarts from its first step */
    resetBackoff: () => {},
    /** closes the current link, if any */
    hangUp: () => {},
  },
  delays: {
    /** the back-off step of the moment, computed by the target core */
    retryDelay: 1_000,
  },
}).createMachine({
  id: 'serverTarget',
  context: ({ input }) => ({ key: input.key }),
  initial: 'dialing',
  on: { STOP: { target: '.stopped' } },
  states: {
    dialing: {
      entry: 'dial',
      on: { LINKED: { target: 'linked', actions: 'resetBackoff' }, DOWN: 'waiting' },
    },
    linked: { on: { DOWN: 'waiting' } },
    waiting: { after: { retryDelay: 'dialing' } },
    stopped: { type: 'final', entry: 'hangUp' },
  },
});
