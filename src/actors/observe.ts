// Where actor inspection events go. Nothing is attached by default, so actors cost nothing extra;
// the --inspect option (Stately inspector) and the built-in inspector attach a sink at start-up.
import type { InspectionEvent } from 'xstate';

export type InspectionSink = (event: InspectionEvent) => void;

/** What the built-in inspector learns about an actor when it is created. */
export interface ActorMeta {
  /** stable name, e.g. "session:3", "flow:3.2" */
  name: string;
  kind: string;
  /** name of the actor this one belongs to ("session:3" for "flow:3.2"), or undefined for top-level actors */
  parent: string | undefined;
}

/** A sink that also wants to know which actor an event is about without parsing its name. */
export type ActorSink = (event: InspectionEvent, meta: ActorMeta) => void;

let sink: InspectionSink | undefined;
let actorSink: ActorSink | undefined;

export function setInspectionSink(next: InspectionSink | undefined): void {
  sink = next;
}

/** The built-in inspector's sink (src/inspector/registry.ts); undefined detaches it. */
export function setActorSink(next: ActorSink | undefined): void {
  actorSink = next;
}

/**
 * createActor options for one actor: a stable id the inspector can show, and the sink if any.
 * `parent` names the owning actor; without it a numeric id "N.M" is taken to belong to "session:N" (flows, writers).
 */
export function observe(kind: string, id: number | string, parent?: string): { id: string; inspect?: InspectionSink } {
  const name = `${kind}:${id}`;
  if (!sink && !actorSink) return { id: name };
  const meta: ActorMeta = { name, kind, parent: parent ?? sessionOf(String(id)) };
  const stately = sink;
  const builtIn = actorSink;
  if (!builtIn) return { id: name, inspect: stately };
  return {
    id: name,
    inspect: stately
      ? (event) => {
          stately(event);
          builtIn(event, meta);
        }
      : (event) => builtIn(event, meta),
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
