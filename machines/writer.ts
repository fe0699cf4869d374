// Reliability lifecycle of one sending flow (RFC 7016 §3.6.2, RTMFP.md §4.7–4.8).
// Fragments, acks and retransmission bookkeeping are plain code (src/protocols/rtmfp/flow/writer.ts); this machine only
// sees coarse facts, and its one timer (`retransmitTick`) is where the core checks what is due.
import { assign, setup } from 'xstate';

export type WriterEvent =
  | { type: 'SENT' } // a flush put fragments on the wire while idle
  | { type: 'PROGRESS' } // an ack advanced while retransmitting
  | { type: 'REARM' } // data left due well before the armed tick: the RTO shrank since it was armed (first RTT sample)
  | { type: 'CLOSE' } // orderly close: FIN queued
  | { type: 'EXCEPTION'; code: number } // the receiver rejected the flow (0x5e)
  | { type: 'ABANDON'; reason: string }; // local abandon (session failing, writer failed)

export interface WriterContext {
  /** which writer core implements this actor (see src/actors/bindings.ts) */
  key: number;
  reason: string;
}

export const writerMachine = setup({
  types: {
    context: {} as WriterContext,
    events: {} as WriterEvent,
    input: {} as { key: number },
  },
  actions: {
    retransmit: () => {},
    abandoned: () => {},
    closed: () => {},
  },
  guards: {
    drained: () => true, // nothing queued, nothing in flight, nothing written for an RTO (closing: at once)
    retransmissionDue: () => false,
    gaveUp: () => false, // no ack progress for the give-up period
  },
  delays: {
    // Computed by the core: time until the earliest retransmission deadline, or the idle check period.
    retransmitTick: 1_000,
  },
}).createMachine({
  id: 'writer',
  context: ({ input }) => ({ key: input.key, reason: '' }),
  initial: 'idle',
  on: {
    EXCEPTION: {
      target: '.abandoned',
      actions: assign({ reason: ({ event }) => `flow exception ${event.code}` }),
    },
    ABANDON: { target: '.abandoned', actions: assign({ reason: ({ event }) => event.reason }) },
  },
  states: {
    // messages queued while idle wait for the session's next flush, which follows at once (the same turn of the
    // event loop) unless the congestion window is full: then the acks that open it flush again
    idle: {
      on: { SENT: 'awaitingAck', CLOSE: 'closing' },
    },
    awaitingAck: {
      on: { CLOSE: 'closing', REARM: { target: 'awaitingAck', reenter: true } },
      after: {
        retransmitTick: [
          { guard: 'gaveUp', target: 'abandoned', actions: assign({ reason: 'retransmission limit' }) },
          { guard: 'retransmissionDue', target: 'retransmitting' },
          { guard: 'drained', target: 'idle' },
          { target: 'awaitingAck', reenter: true },
        ],
      },
    },
    retransmitting: {
      entry: 'retransmit',
      on: { PROGRESS: 'awaitingAck', CLOSE: 'closing' },
      after: {
        retransmitTick: [
          { guard: 'gaveUp', target: 'abandoned', actions: assign({ reason: 'retransmission limit' }) },
          { guard: 'drained', target: 'idle' },
          { target: 'retransmitting', reenter: true },
        ],
      },
    },
    closing: {
      after: {
        retransmitTick: [
          { guard: 'gaveUp', target: 'abandoned', actions: assign({ reason: 'retransmission limit' }) },
          { guard: 'drained', target: 'closed' },
          { guard: 'retransmissionDue', target: 'closing', reenter: true, actions: 'retransmit' },
          { target: 'closing', reenter: true },
        ],
      },
    },
    abandoned: { type: 'final', entry: 'abandoned' },
    closed: { type: 'final', entry: 'closed' },
  },
});
