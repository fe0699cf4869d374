// The registry of publications by name, and the one place where the application is asked about streams
// (StreamEvents: the Lua layer implements it, the default allows everything). A name lives while someone
// publishes it or listens to it.
import { systemClock, type Clock } from '../../clock.ts';
import type { ClientPort } from '../ports.ts';
import { hex } from '../../bytes.ts';
import { channels } from '../diagnostics.ts';
import { Listener, Publication, type ListenerSink, type Publisher } from './publication.ts';

export type StreamVerdict = { allowed: true } | { allowed: false; description?: string };

/** Application hooks for streams. Media hooks are optional so that an application without them costs nothing. */
export interface StreamEvents {
  onPublish(client: ClientPort, publication: Publication): StreamVerdict;
  onUnpublish(client: ClientPort, publication: Publication): void;
  onSubscribe(client: ClientPort, listener: Listener): StreamVerdict;
  onUnsubscribe(client: ClientPort, listener: Listener): void;
  onAudio?(client: ClientPort, publication: Publication, time: number, packet: Uint8Array): void;
  onVideo?(client: ClientPort, publication: Publication, time: number, packet: Uint8Array): void;
  onData?(client: ClientPort, publication: Publication, name: string, packet: Uint8Array): void;
  /** the end of a batch of a client publisher's messages (what arrived together has been relayed) */
  onFlush?(client: ClientPort, publication: Publication): void;
}

export const allowAllStreams: StreamEvents = {
  onPublish: () => ({ allowed: true }),
  onUnpublish() {},
  onSubscribe: () => ({ allowed: true }),
  onUnsubscribe() {},
};

export type PublishOutcome =
  | { ok: true; publication: Publication }
  | { ok: false; code: 'NetStream.Publish.BadName' | 'NetStream.Publish.Failed'; description: string };

export type SubscribeOutcome = { ok: true; listener: Listener } | { ok: false; description: string };

export interface SubscribeOptions {
  parameters?: Record<string, string>;
  unbuffered?: boolean;
}

export class Publications {
  events: StreamEvents = allowAllStreams;
  readonly clock: Clock;
  private readonly byName = new Map<string, Publication>();
  private nextListenerId = 1;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  get count(): number {
    return this.byName.size;
  }

  get(name: string): Publication | undefined {
    return this.byName.get(name);
  }

  [Symbol.iterator](): IterableIterator<Publication> {
    return this.byName.values();
  }

  /**
   * A client (publisher given) or the script (no publisher) publishes `name`. The name must be free; a
   * client publication is then put to onPublish, whose refusal or error text becomes the status description.
   */
  publish(name: string, publisher?: Publisher): PublishOutcome {
    const publication = this.entry(name);
    if (publication.state !== 'idle') {
      return { ok: false, code: 'NetStream.Publish.BadName', description: `${name} is already published` };
    }
    const client = publisher?.client;
    publication.actor.send({ type: 'PUBLISH', publisherId: client ? hex(client.rawId) : '' });
    if (client) {
      const verdict = this.events.onPublish(client, publication);
      if (!verdict.allowed) {
        const description = verdict.description || `Not allowed to publish ${name}`;
        publication.actor.send({ type: 'DENY', reason: description });
        this.release(publication);
        return { ok: false, code: 'NetStream.Publish.Failed', description };
      }
    }
    publication.publisher = publisher;
    publication.start();
    if (channels.publish.hasSubscribers) channels.publish.publish({ name, client });
    return { ok: true, publication };
  }

  /** The publisher stops: onUnpublish (client publications), listeners notified, the name released if unused. */
  unpublish(publication: Publication): void {
    if (!publication.running) return;
    const client = publication.publisher?.client;
    publication.stop();
    if (client) this.events.onUnpublish(client, publication);
    if (channels.unpublish.hasSubscribers) channels.unpublish.publish({ name: publication.name, client });
    this.release(publication);
  }

  /**
   * `client` (undefined for tests and script listeners) subscribes to `name`, published yet or not.
   * The listener joins publication.listeners only once onSubscribe accepted it; nothing is sent before
   * the caller starts it (after its own status messages).
   */
  subscribe(name: string, client: ClientPort | undefined, sink: ListenerSink, options: SubscribeOptions = {}): SubscribeOutcome {
    const publication = this.entry(name);
    const listener = new Listener({
      id: this.nextListenerId++,
      publication,
      client,
      sink,
      clock: this.clock,
      parameters: options.parameters,
      unbuffered: options.unbuffered,
    });
    if (client) {
      const verdict = this.events.onSubscribe(client, listener);
      if (!verdict.allowed) {
        const description = verdict.description || `Not authorized to play ${name}`;
        listener.deny(description);
        this.release(publication);
        return { ok: false, description };
      }
    }
    publication.addListener(listener);
    if (channels.subscribe.hasSubscribers) channels.subscribe.publish({ name, client });
    return { ok: true, listener };
  }

  /** The listener leaves after onUnsubscribe returned (so the script still sees it in the list). */
  unsubscribe(listener: Listener, stopStatus: boolean): void {
    const publication = listener.publication;
    if (!publication.listeners.has(listener.id)) return;
    if (listener.client) this.events.onUnsubscribe(listener.client, listener);
    listener.close(stopStatus);
    publication.removeListener(listener);
    if (channels.unsubscribe.hasSubscribers) channels.unsubscribe.publish({ name: publication.name, client: listener.client });
    this.release(publication);
  }

  private entry(name: string): Publication {
    let publication = this.byName.get(name);
    if (!publication) {
      publication = new Publication(name, this.clock);
      this.byName.set(name, publication);
    }
    return publication;
  }

  private release(publication: Publication): void {
    if (publication.state !== 'idle' || publication.listeners.size > 0) return;
    if (this.byName.get(publication.name) !== publication) return;
    this.byName.delete(publication.name);
    publication.actor.send({ type: 'CLOSE' });
  }
}
