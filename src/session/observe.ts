// Where actor inspection events go. Nothing is attached by default, so actors cost nothing extra;
// the --inspect option (Stately inspector) and the built-in inspector attach a sink at start-up.
import type { InspectionEvent } from 'xstate';

export type InspectionSink = (event: InspectionEvent) => void;

let sink: InspectionSink | undefined;

export function setInspectionSink(next: InspectionSink | undefined): void {
  sink = next;
}

/** createActor options for one actor: a stable id the inspector can show, and the sink if any. */
export function observe(kind: string, id: number | string): { id: string; inspect?: InspectionSink } {
  const name = `${kind}:${id}`;
  return sink ? { id: name, inspect: sink } : { id: name };
}
