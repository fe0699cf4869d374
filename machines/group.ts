// Life of one NetGroup membership (RTMFP.md §6.6): a GC flow opened by a client, or a virtual member added
// by a script (groups:join). The member takes its place on the group ring when the join message has been
// read, and leaves once: flow end, session end or release(). Introductions are plain code (src/protocols/rtmfp/groups.ts);
// this machine only guarantees that the application hears one onJoinGroup and, after it, one onUnjoinGroup.
import { setup } from 'xstate';

export type MembershipEvent =
  | { type: 'JOIN' } // the join message named the group: the member is on the ring
  | { type: 'LEAVE'; reason: string }; // GC flow ended, session closed, member released

export interface MembershipContext {
  /** which member core implements this actor (see src/actors/bindings.ts) */
  key: number;
  reason: string;
}

export const membershipMachine = setup({
  types: { context: {} as MembershipContext, events: {} as MembershipEvent, input: {} as { key: number } },
  actions: {
    /** placed on the ring: introductions, onJoinGroup */
    joined: () => {},
    /** off the ring: onUnjoinGroup, re-linking of the neighbours */
    unjoined: () => {},
    /** forget the membership (its writer, its index entries) */
    left: () => {},
  },
}).createMachine({
  id: 'membership',
  context: ({ input }) => ({ key: input.key, reason: '' }),
  initial: 'joining',
  states: {
    joining: {
      on: {
        JOIN: 'member',
        LEAVE: { target: 'left', actions: ({ context, event }) => void (context.reason = event.reason) },
      },
    },
    member: {
      entry: 'joined',
      on: {
        LEAVE: { target: 'left', actions: [({ context, event }) => void (context.reason = event.reason), 'unjoined'] },
      },
    },
    left: { type: 'final', entry: 'left' },
  },
});
