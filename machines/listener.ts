// Lifecycle of one subscription (RTMFP.md §5.5–5.6): the application authorizes it, then it waits for the
// publisher, then for a video key frame, then plays. Per-message relay is plain code (src/core/media/publication.ts);
// the machine hears only the transitions: a key frame ending a wait, a loss or a re-enabled video track
// starting one, pause and resume, the publisher coming and going.
import { assign, setup } from 'xstate';

export type ListenerEvent =
  | { type: 'ALLOW' } // onSubscribe accepted
  | { type: 'DENY'; reason: string } // onSubscribe refused
  | { type: 'PUBLISHED' } // the publication started (or was already running)
  | { type: 'UNPUBLISHED' } // the publisher left; the listener stays for the next one
  | { type: 'KEY_FRAME' } // first key frame delivered: video is decodable from here
  | { type: 'RESYNC' } // video must restart at a key frame (loss, receiveVideo(true), drop)
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'CLOSE' }; // closeStream, deleteStream, session end, publication closed

export interface ListenerContext {
  /** which listener core implements this actor (see src/actors/bindings.ts) */
  key: number;
  reason: string;
}

export const listenerMachine = setup({
  types: { context: {} as ListenerContext, events: {} as ListenerEvent, input: {} as { key: number } },
  guards: {
    publishing: () => false, // the publication is running right now
  },
}).createMachine({
  id: 'listener',
  context: ({ input }) => ({ key: input.key, reason: '' }),
  initial: 'authorizing',
  states: {
    authorizing: {
      on: {
        ALLOW: [{ guard: 'publishing', target: 'awaitingKeyFrame' }, { target: 'waiting' }],
        DENY: { target: 'refused', actions: assign({ reason: ({ event }) => event.reason }) },
        CLOSE: 'refused',
      },
    },
    waiting: {
      on: { PUBLISHED: 'awaitingKeyFrame', PAUSE: 'paused', CLOSE: 'closed' },
    },
    awaitingKeyFrame: {
      on: { KEY_FRAME: 'playing', UNPUBLISHED: 'waiting', PAUSE: 'paused', CLOSE: 'closed' },
    },
    playing: {
      on: { RESYNC: 'awaitingKeyFrame', UNPUBLISHED: 'waiting', PAUSE: 'paused', CLOSE: 'closed' },
    },
    paused: {
      on: {
        RESUME: [{ guard: 'publishing', target: 'awaitingKeyFrame' }, { target: 'waiting' }],
        CLOSE: 'closed',
      },
    },
    refused: { type: 'final' },
    closed: { type: 'final' },
  },
});
