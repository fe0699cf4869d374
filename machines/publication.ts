// Lifecycle of one named publication (RTMFP.md §5.5–5.6). The name outlives its publishers: listeners may
// wait on it while nobody publishes, and a new publisher may take it over after an unpublish. Media never
// reaches this machine; it only hears who publishes, what the application decided, and when it ends.
import { assign, setup } from 'xstate';

export type PublicationEvent =
  | { type: 'PUBLISH'; publisherId: string } // a client (or the script) asks to publish the name
  | { type: 'ALLOW' } // the application accepted (onPublish)
  | { type: 'DENY'; reason: string } // the application refused, or the name was taken
  | { type: 'UNPUBLISH' } // closeStream, deleteStream, flow end, publication:close()
  | { type: 'CLOSE' }; // nobody publishes nor listens any more: the name is released

export interface PublicationContext {
  publisherId: string;
  reason: string;
}

export const publicationMachine = setup({
  types: { context: {} as PublicationContext, events: {} as PublicationEvent },
}).createMachine({
  id: 'publication',
  context: { publisherId: '', reason: '' },
  initial: 'idle',
  states: {
    idle: {
      on: {
        PUBLISH: {
          target: 'authorizing',
          actions: assign({ publisherId: ({ event }) => event.publisherId }),
        },
        CLOSE: 'closed',
      },
    },
    authorizing: {
      on: {
        ALLOW: 'publishing',
        DENY: {
          target: 'idle',
          actions: assign({ reason: ({ event }) => event.reason, publisherId: '' }),
        },
        CLOSE: 'closed',
      },
    },
    publishing: {
      on: {
        UNPUBLISH: { target: 'idle', actions: assign({ publisherId: '' }) },
        CLOSE: 'closed',
      },
    },
    closed: { type: 'final' },
  },
});
