// The stream-centred view: each publication with its publisher and its listeners, the numbers an operator
// compares across listeners (kbit/s, frames skipped until a key frame, messages dropped behind a backlog).
import type { ClientPort } from '../core/ports.ts';
import type { Publications } from '../core/media/publications.ts';
import { kbps, listenerRow, type ListenerRow } from './views.ts';

export interface StreamRow {
  /** the publication actor's key, for selecting it */
  key: string;
  name: string;
  state: string;
  /** publishing session ("session:3"), the client's address for another protocol, '' for a script */
  publisher: string;
  publisherAddress: string;
  kbps: number;
  audioKbps: number;
  videoKbps: number;
  /** video frames the publisher's flows lost on the way in */
  lostRate: number;
  listeners: ListenerRow[];
}

/** Most listeners listed per stream; the count is always exact. */
const MAX_LISTENERS = 500;

export function streamRows(
  publications: Publications,
  sessionOf: (client: ClientPort | undefined) => string,
): Array<StreamRow & { listenerCount: number }> {
  const rows: Array<StreamRow & { listenerCount: number }> = [];
  for (const publication of publications) {
    const listeners: ListenerRow[] = [];
    for (const listener of publication.listeners.values()) {
      if (listeners.length >= MAX_LISTENERS) break;
      listeners.push(listenerRow(listener, sessionOf(listener.client)));
    }
    const client = publication.publisher?.client;
    const audio = publication.audioQOS.byteRate;
    const video = publication.videoQOS.byteRate;
    rows.push({
      key: publication.actor.sessionId,
      name: publication.name,
      state: publication.state,
      publisher: client ? sessionOf(client) : '',
      publisherAddress: client?.address ?? '',
      kbps: kbps(audio + video + publication.dataQOS.byteRate),
      audioKbps: kbps(audio),
      videoKbps: kbps(video),
      lostRate: Math.round(publication.videoQOS.lostRate * 1000) / 10,
      listeners,
      listenerCount: publication.listeners.size,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}
