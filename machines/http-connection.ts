// Life of one TCP connection on the HTTP port (docs/http.md): it serves requests (keep-alive), or carries one live
// stream response that never ends (no further request can follow on it), or was upgraded to a WebSocket session;
// then it is closed. Requests, files and frames never reach this machine; Node's `http` owns the header and
// keep-alive timers ([HTTP] headersTimeout, timeout), the manage tick the WebSocket keepalive.
import { assign, setup } from 'xstate';

export interface HttpConnectionContext {
  reason: string;
}

export type HttpConnectionEvent =
  | { type: 'STREAM' } // an HTTP-FLV response started on it
  | { type: 'STREAM_END' } // that response ended (the viewer left, was dropped, or the stream was refused mid-way)
  | { type: 'UPGRADE' } // the 101 went out: a WebSocket session from now on
  | { type: 'CLOSED'; reason: string }; // the socket is gone

export const httpConnectionMachine = setup({
  types: {
    context: {} as HttpConnectionContext,
    events: {} as HttpConnectionEvent,
  },
}).createMachine({
  id: 'httpConnection',
  context: { reason: '' },
  initial: 'requests',
  on: {
    CLOSED: { target: '.closed', actions: assign({ reason: ({ event }) => event.reason }) },
  },
  states: {
    requests: {
      on: { STREAM: 'streaming', UPGRADE: 'upgraded' },
    },
    streaming: {
      on: { STREAM_END: 'requests' },
    },
    upgraded: {},
    closed: { type: 'final' },
  },
});
