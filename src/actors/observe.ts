// Where actor inspection events go. Nothing is attached by default, so actors cost nothing extra:
// an actor reports only when, at its creation, the `nimbus:actor` diagnostics channel has subscribers
// (the built-in inspector, src/inspector/registry.ts, or an operator's monitoring) or the Stately sink
// is set (--inspect).
import diagnostics from 'node:diagnostics_channel';
import type { InspectionEvent } from 'xstate';

export type InspectionSink = (event: InspectionEvent) => void;

/** What a subscriber learns about an actor with each of its events. */
export interface ActorMeta {
  /** stable name, e.g. "session:3", "flow:3.2" */
  name: string;
  kind: string;
  /** name of the actor this one belongs to ("session:3" for "flow:3.2"), or undefined for top-level actors */
  parent: string | undefined;
}

/** A message of the `nimbus:actor` channel: one inspection event and the actor it is about. */
export interface ActorMessage {
  event: InspectionEvent;
  meta: ActorMeta;
}

export const ACTOR_CHANNEL = 'nimbus:actor';

/** Every inspection event of every actor created while it had subscribers. */
export const actorChannel = diagnostics.channel(ACTOR_CHANNEL);

let sink: InspectionSink | undefined;

/** The Stately inspector's sink (--inspect, src/cli.ts); undefined detaches it. */
export function setInspectionSink(next: InspectionSink | undefined): void {
  sink = next;
}

/**
 * createActor options for one actor: a stable id the inspector can show, and an inspect callback when
 * someone listens (the Stately sink, subscribers of `nimbus:actor`), decided once, at creation.
 * `parent` names the owning actor; without it a numeric id "N.M" is taken to belong to "session:N" (flows, writers).
 */
export function observe(kind: string, id: number | string, parent?: string): { id: string; inspect?: InspectionSink } {
  const name = `${kind}:${id}`;
  const channel = actorChannel.hasSubscribers;
  if (!sink && !channel) return { id: name };
  const stately = sink;
  if (!channel) return { id: name, inspect: stately };
  const meta: ActorMeta = { name, kind, parent: parent ?? sessionOf(String(id)) };
  const toChannel: InspectionSink = (event) => {
    if (actorChannel.hasSubscribers) actorChannel.publish({ event, meta } satisfies ActorMessage);
  };
  return {
    id: name,
    inspect: stately
      ? (event) => {
          stately(event);
          toChannel(event);
        }
      : toChannel,
  };
}

function sessionOf(id: string): string | undefined {
  const match = /^(\d+)\./.exec(id);
  return match ? `session:${match[1]}` : undefined;
}

/** What the inspector shows about one actor: searchable label and live numbers. */
export interface ActorFacts {
  label: string;
  facts: Record<string, number | string>;
}

/** Facts of one actor of a kind, looked up by its actor ref (e.g. a publication's bit rate and listeners). */
export type FactsProvider = (ref: unknown) => ActorFacts | undefined;

const factProviders = new Map<string, FactsProvider>();

/** The module owning a kind of actor says what the inspector shows about it; kept here, below every layer. */
export function provideFacts(kind: string, provider: FactsProvider): void {
  factProviders.set(kind, provider);
}

export function factsOf(kind: string, ref: unknown): ActorFacts | undefined {
  return factProviders.get(kind)?.(ref);
}
