// Streams across nodes, origin–edge: a player on node B of a stream published on node A is served by B, which
// pulls one copy from A over their server link however many players B has. The origin feeds the copy from a
// listener of its own (so a slow link loses media like a slow player, never queues it); the edge republishes
// it as a server publication its players listen to, with their usual Play/PublishNotify/UnpublishNotify.
import { decodeTCMessage } from '../flash/tc.ts';
import { WireError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PeerServerPort } from '../core/ports.ts';
import type { Publications } from '../core/media/publications.ts';
import type { Listener, ListenerSink, Publication } from '../core/media/publication.ts';
import { dataName } from '../core/media/media.ts';

/** Handler names on the link, reserved to cluster mode (never reach the application). */
export const HANDLER = {
  /** edge → origin: send me `name` */
  PULL: 'nimbus.cluster.pull',
  /** edge → origin: my players are gone */
  STOP: 'nimbus.cluster.stop',
  /** origin → edge: u16 name length, name, one TC message */
  MEDIA: 'nimbus.cluster.media',
  /** origin → edge: the publication (re)started / stopped */
  PUBLISHED: 'nimbus.cluster.published',
  UNPUBLISHED: 'nimbus.cluster.unpublished',
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SET_DATA_FRAME = encoder.encode('@setDataFrame');

/** One pulled stream on the edge. */
interface EdgeCopy {
  link: PeerServerPort;
  publication: Publication | undefined;
}

export class StreamRelay {
  /** origin side: link → stream name → the listener feeding that edge */
  private readonly feeding = new Map<PeerServerPort, Map<string, Listener>>();
  /** edge side: stream name → its copy */
  private readonly copies = new Map<string, EdgeCopy>();
  /** edge side: copies given media since the last flush */
  private readonly dirty = new Set<Publication>();

  constructor(
    private readonly publications: Publications,
    private readonly logger: Logger,
  ) {}

  /** Handles a cluster handler; false for any other, which goes to the application. */
  onMessage(link: PeerServerPort, handler: string, payload: Uint8Array): boolean {
    try {
      switch (handler) {
        case HANDLER.PULL:
          this.feed(link, decoder.decode(payload));
          return true;
        case HANDLER.STOP:
          this.unfeed(link, decoder.decode(payload));
          return true;
        case HANDLER.MEDIA:
          this.onMedia(link, payload);
          return true;
        case HANDLER.PUBLISHED:
          this.onPublished(link, decoder.decode(payload));
          return true;
        case HANDLER.UNPUBLISHED:
          this.onUnpublished(link, decoder.decode(payload));
          return true;
        default:
          return false;
      }
    } catch (error) {
      this.logger.warn({ err: error, server: link.address, handler }, 'cluster message dropped');
      return true;
    }
  }

  /** Whether `name` is served here from another node. */
  isCopy(name: string): boolean {
    return this.copies.has(name);
  }

  /** Edge: a player subscribed to a stream another node publishes. One pull per stream, whatever the players. */
  pull(name: string, link: PeerServerPort): void {
    if (this.copies.has(name)) return;
    this.copies.set(name, { link, publication: undefined });
    link.send(HANDLER.PULL, encoder.encode(name));
  }

  /** Edge: the last player left: the origin stops feeding, the copy ends. */
  release(name: string): void {
    const copy = this.copies.get(name);
    if (!copy) return;
    this.copies.delete(name);
    copy.link.send(HANDLER.STOP, encoder.encode(name));
    if (copy.publication) this.publications.unpublish(copy.publication);
  }

  /** The link is gone: copies from it end (their players get UnpublishNotify), feeds to it stop. */
  onLinkClosed(link: PeerServerPort): void {
    for (const [name, copy] of this.copies) {
      if (copy.link !== link) continue;
      this.copies.delete(name);
      if (copy.publication) this.publications.unpublish(copy.publication);
    }
    const feeds = this.feeding.get(link);
    this.feeding.delete(link);
    for (const listener of feeds?.values() ?? []) this.publications.unsubscribe(listener, false);
  }

  // ---- origin ---------------------------------------------------------------------------------------
  private feed(link: PeerServerPort, name: string): void {
    let feeds = this.feeding.get(link);
    if (!feeds) this.feeding.set(link, (feeds = new Map()));
    if (feeds.has(name)) return;
    const outcome = this.publications.subscribe(name, undefined, linkSink(link, name));
    if (!outcome.ok) return;
    feeds.set(name, outcome.listener);
    outcome.listener.start();
  }

  private unfeed(link: PeerServerPort, name: string): void {
    const feeds = this.feeding.get(link);
    const listener = feeds?.get(name);
    if (!listener) return;
    feeds!.delete(name);
    this.publications.unsubscribe(listener, false);
  }

  // ---- edge -----------------------------------------------------------------------------------------
  private onPublished(link: PeerServerPort, name: string): void {
    const copy = this.copies.get(name);
    if (!copy || copy.link !== link || copy.publication?.running) return;
    const outcome = this.publications.publish(name);
    if (!outcome.ok) {
      // published here meanwhile by a client of this node: that one wins, the copy stops
      this.logger.warn({ stream: name }, `cluster copy of ${name} not published: ${outcome.description}`);
      this.release(name);
      return;
    }
    copy.publication = outcome.publication;
  }

  private onUnpublished(link: PeerServerPort, name: string): void {
    const copy = this.copies.get(name);
    if (!copy || copy.link !== link || !copy.publication) return;
    const publication = copy.publication;
    copy.publication = undefined;
    this.publications.unpublish(publication);
  }

  private onMedia(link: PeerServerPort, payload: Uint8Array): void {
    if (payload.length < 2) throw new WireError('cluster media without a name');
    const length = (payload[0]! << 8) | payload[1]!;
    if (payload.length < 2 + length) throw new WireError('cluster media name truncated');
    const name = decoder.decode(payload.subarray(2, 2 + length));
    const copy = this.copies.get(name);
    if (!copy || copy.link !== link) return;
    if (!copy.publication) this.onPublished(link, name);
    const publication = copy.publication;
    if (!publication) return;
    const message = decodeTCMessage(payload.subarray(2 + length));
    if (message.type === 0x08) publication.pushAudio(message.time, message.body);
    else if (message.type === 0x09) publication.pushVideo(message.time, message.body);
    else if (message.type === 0x12 || message.type === 0x0f)
      publication.pushDataMessage(message.type, keptAsMetadata(message.type, message.body));
    this.flushSoon(publication);
  }

  /**
   * What one read of the link carried is flushed together, as a publisher's batch is (NetStream's onFlush):
   * a flush per message would put each on the wire alone, to every player, and spend the congestion window
   * on packet headers.
   */
  private flushSoon(publication: Publication): void {
    if (this.dirty.size === 0) setImmediate(() => this.flushAll());
    this.dirty.add(publication);
  }

  private flushAll(): void {
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const publication of dirty) publication.flush();
  }
}

/** The origin's listener writes to the link: one frame per message, status turned into published/unpublished. */
function linkSink(link: PeerServerPort, name: string): ListenerSink {
  const nameBytes = encoder.encode(name);
  const forward = (message: Uint8Array): void => {
    const frame = new Uint8Array(2 + nameBytes.length + message.length);
    frame[0] = nameBytes.length >> 8;
    frame[1] = nameBytes.length & 0xff;
    frame.set(nameBytes, 2);
    frame.set(message, 2 + nameBytes.length);
    link.send(HANDLER.MEDIA, frame);
  };
  const backlog = (): number => link.backlog ?? 0;
  return {
    writeAudio: forward,
    writeVideo: forward,
    writeData: (message) => {
      // |RtmpSampleAccess is the origin's word to its own players; the edge's listeners say it themselves
      const type = message[0]!;
      const named = dataName(type, message.subarray(5));
      if (named?.name === '|RtmpSampleAccess') return;
      forward(message);
    },
    status: (code) => {
      if (code === 'NetStream.Play.PublishNotify') link.send(HANDLER.PUBLISHED, nameBytes);
      else if (code === 'NetStream.Play.UnpublishNotify') link.send(HANDLER.UNPUBLISHED, nameBytes);
    },
    pendingAudio: backlog,
    pendingVideo: backlog,
    latency: () => 0,
    flush: () => undefined,
  };
}

/**
 * The origin's listener sends the metadata it kept as a plain `onMetaData` message; on the edge it becomes
 * `@setDataFrame` again so the copy keeps it for its own late joiners.
 */
function keptAsMetadata(type: number, body: Uint8Array): Uint8Array {
  const named = dataName(type, body);
  if (named?.name !== 'onMetaData') return body;
  const at = type === 0x0f ? 1 : 0;
  const out = new Uint8Array(body.length + 3 + SET_DATA_FRAME.length);
  out.set(body.subarray(0, at), 0);
  out[at] = 0x02;
  out[at + 1] = SET_DATA_FRAME.length >> 8;
  out[at + 2] = SET_DATA_FRAME.length & 0xff;
  out.set(SET_DATA_FRAME, at + 3);
  out.set(body.subarray(at), at + 3 + SET_DATA_FRAME.length);
  return out;
}
