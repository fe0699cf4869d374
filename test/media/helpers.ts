// A ListenerSink that records what a listener would have sent, for tests of the relay core.
import type { ListenerSink } from '../../src/core/media/publication.ts';
import { decodeTCMessage, type TCMessage } from '../../src/flash/tc.ts';

export interface RecordingSink extends ListenerSink {
  audio: TCMessage[];
  video: TCMessage[];
  data: TCMessage[];
  statuses: string[];
  reliability: boolean[];
  backlog: { audio: number; video: number };
}

export function recordingSink(): RecordingSink {
  const sink: RecordingSink = {
    audio: [],
    video: [],
    data: [],
    statuses: [],
    reliability: [],
    backlog: { audio: 0, video: 0 },
    writeAudio(message, reliable) {
      sink.audio.push(decodeTCMessage(message));
      sink.reliability.push(reliable);
    },
    writeVideo(message, reliable) {
      sink.video.push(decodeTCMessage(message));
      sink.reliability.push(reliable);
    },
    writeData(message) {
      sink.data.push(decodeTCMessage(message));
    },
    status(code) {
      sink.statuses.push(code);
    },
    pendingAudio: () => sink.backlog.audio,
    pendingVideo: () => sink.backlog.video,
    latency: () => 0,
    flush() {},
  };
  return sink;
}
