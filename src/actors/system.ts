// One XState actor system per clock, for the actors made by the thousand (RTMFP sessions, their flows and
// writers). A root actor creates a system of ~15 closures, three maps, a set and two objects whose property
// names are its timers' ids (each a hidden class of its own while the timer waits): ~1.5 KB per actor. Actors
// created with a parent share the parent's system instead, so these actors are created as children of one
// inert root per clock (it ignores every event, the done and error events its children report included;
// each actor's own subscribers still hear its errors). Their named delays go through that system's
// scheduler to the clock given here: a server passes its TimerWheel, so every delay shares one timer.
// An actor that someone inspects at its creation (observe() returned an inspect callback) keeps a system of
// its own, since XState reports inspection per system.
import { createActor, fromTransition, type AnyActorRef } from 'xstate';
import type { Clock } from '../clock.ts';
import type { InspectionSink } from './observe.ts';

const roots = new WeakMap<Clock, AnyActorRef>();

/** Options for createActor: the shared system of `clock`, or (when inspected) a system of the actor's own. */
export function inSystem<I = undefined>(
  clock: Clock,
  observed: { id: string; inspect?: InspectionSink },
  input?: I,
): { input: I | undefined; id: string; clock: Clock; parent: AnyActorRef | undefined; inspect: InspectionSink | undefined } {
  const inspect = observed.inspect;
  return { input, id: observed.id, clock, parent: inspect ? undefined : rootOf(clock), inspect };
}

/**
 * Stops an actor whether it is a root or a child of the shared system (XState refuses stop() on a child: its
 * parent stops it, here the inert root, which therefore does it through the internal stop a parent uses).
 */
export function stopActor(actor: AnyActorRef): void {
  if ((actor as { _parent?: unknown })._parent === undefined) actor.stop();
  else (actor as unknown as { _stop(): void })._stop();
}

function rootOf(clock: Clock): AnyActorRef {
  let root = roots.get(clock);
  if (!root) {
    root = createActor(
      fromTransition((state: null) => state, null),
      { clock, id: 'actors' },
    );
    indexScheduledEvents(root.system as unknown as Parameters<typeof indexScheduledEvents>[0]);
    root.start();
    roots.set(clock, root);
  }
  return root;
}

interface Scheduler {
  schedule(source: AnyActorRef, target: AnyActorRef, event: unknown, delay: number, id?: string): void;
  cancel(source: AnyActorRef, id: string): void;
  cancelAll(source: AnyActorRef): void;
}

/**
 * XState's cancelAll (run whenever an actor stops or finishes) scans every delayed event of the system: with
 * 10,000 sessions in one system that is 10,000 entries per stop. Here each actor's delay ids are indexed (a
 * machine has a few named delays, so the index per actor is one id or a short list) and cancelAll cancels
 * just those. Ids of delays that fired stay until the actor stops; cancelling them again does nothing.
 */
function indexScheduledEvents(system: { scheduler: Scheduler; _snapshot: { _scheduledEvents: Record<string, unknown> } }): void {
  const scheduler = system.scheduler;
  const schedule = scheduler.schedule.bind(scheduler);
  const cancel = scheduler.cancel.bind(scheduler);
  const ids = new Map<AnyActorRef, string | string[]>();
  scheduler.schedule = (source, target, event, delay, id) => {
    // xstate makes a random id when none is given: make it here, to know it
    const known = id ?? Math.random().toString(36).slice(2);
    schedule(source, target, event, delay, known);
    const held = ids.get(source);
    if (held === undefined) ids.set(source, known);
    else if (typeof held === 'string') {
      if (held !== known) ids.set(source, [held, known]);
    } else if (!held.includes(known)) {
      // delays without a fixed id (a delayed sendTo) would grow the list: keep only those still waiting
      if (held.length >= 8) {
        const waiting = held.filter((old) => `${source.sessionId}.${old}` in system._snapshot._scheduledEvents);
        held.length = 0;
        held.push(...waiting);
      }
      held.push(known);
    }
  };
  scheduler.cancelAll = (source) => {
    const held = ids.get(source);
    if (held === undefined) return;
    ids.delete(source);
    if (typeof held === 'string') cancel(source, held);
    else for (const id of held) cancel(source, id);
  };
}
