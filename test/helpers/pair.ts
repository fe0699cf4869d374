// Two real Sessions (initiator and responder) joined by an in-memory wire, on one SimulatedClock, so a
// test can drive the protocol machines end to end without sockets or wall-clock time. Datagrams queue on
// the wire and move only when the test pumps, which keeps delivery order and reentrancy under its control.
import pino from 'pino';
import { SimulatedClock, assign, createMachine, type AnyActorRef, type AnyStateMachine } from 'xstate';
import {
  Session,
  type BufferBudget,
  type FlowHandler,
  type FlowOpening,
  type SessionDelegate,
} from '../../src/protocols/rtmfp/session/session.ts';
import { createPacketCipher, type PacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import type { Logger } from '../../src/log.ts';
import { ByteWriter, concat } from '../../src/bytes.ts';
import { decodeChunks, type Chunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, PACKET_FLAG, readPacketHeader, timestampNow, writePacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { setInspectionSink } from '../../src/actors/observe.ts';
import type { TimeCriticalReception } from '../../src/protocols/rtmfp/session/time-critical.ts';

const KEY_A = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
const KEY_B = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const INITIATOR_ID = 0x01020304;
const RESPONDER_ID = 0x0a0b0c0d;
const INITIATOR_ADDRESS = { host: '10.0.0.1', port: 1935 };
const RESPONDER_ADDRESS = { host: '10.0.0.2', port: 1935 };

export type Side = 'initiator' | 'responder';

/** What the delegate of one side saw. */
export interface SideRecord {
  opened: number;
  failed: string[];
  closed: string[];
  flows: FlowOpening[];
  /** messages per flow id, copied out of the packet */
  messages: Map<number, Uint8Array[]>;
  ended: number[];
  /** flows accepted unless this returns false (the flow is then rejected: 0x5e) */
  accept: (opening: FlowOpening) => boolean;
}

export interface SentPacket {
  from: Side;
  /** the packet's flags byte (mode, TC, TCR, timestamps); -1 when it did not decrypt */
  flags: number;
  chunks: Chunk[];
  dropped: boolean;
}

export interface WireControls {
  /** drop what this side sends (the other side hears nothing from it) */
  drop: { initiator: boolean; responder: boolean };
  /** hold what this side sends until `release(side)`: a receiver whose acknowledgements are late, not lost */
  hold: { initiator: boolean; responder: boolean };
  /** deliver every datagram twice */
  duplicate: boolean;
  /** deliver queued datagrams newest first */
  reorder: boolean;
}

export interface PairOptions {
  keepAliveMs?: number;
  maxPings?: number;
  giveUpMs?: number;
  /** silence after which a session fails (the server's `[RTMFP] timeout`) */
  peerTimeoutMs?: number;
  maxBufferedBytes?: number;
  sharedBuffer?: BufferBudget;
  /** the responder's record of time-critical reception, as a server shares it among its sessions */
  responderTimeCritical?: TimeCriticalReception;
  /** both sessions' logger (default: silent) */
  logger?: Logger;
  /** the initiator delays its acknowledgements (as the project's client does) */
  initiatorAckDelayMs?: number;
}

export class Pair {
  readonly clock = new SimulatedClock();
  readonly initiator: Session;
  readonly responder: Session;
  readonly records: { initiator: SideRecord; responder: SideRecord };
  readonly wire: WireControls = {
    drop: { initiator: false, responder: false },
    hold: { initiator: false, responder: false },
    duplicate: false,
    reorder: false,
  };
  /** every datagram sent, decoded, in order (dropped ones too) */
  readonly log: SentPacket[] = [];
  private readonly queue: Array<{ to: Side; datagram: Uint8Array }> = [];
  private readonly held: Array<{ to: Side; datagram: Uint8Array }> = [];
  /** decoders with the receiving side's keys, kept apart from the sessions' own ciphers */
  private readonly observers: { initiator: PacketCipher; responder: PacketCipher };

  constructor(options: PairOptions = {}) {
    const logger = options.logger ?? (pino({ level: 'silent' }) as unknown as Logger);
    this.records = { initiator: newRecord(), responder: newRecord() };
    this.observers = { initiator: createPacketCipher(KEY_A, KEY_B), responder: createPacketCipher(KEY_B, KEY_A) };
    const common = {
      clock: this.clock,
      logger,
      keepAliveMs: options.keepAliveMs ?? 15_000,
      maxPings: options.maxPings,
      giveUpMs: options.giveUpMs,
      peerTimeoutMs: options.peerTimeoutMs,
      maxBufferedBytes: options.maxBufferedBytes,
      sharedBuffer: options.sharedBuffer,
    };
    this.initiator = new Session({
      ...common,
      role: 'initiator',
      ackDelayMs: options.initiatorAckDelayMs,
      nearId: INITIATOR_ID,
      farId: RESPONDER_ID,
      address: RESPONDER_ADDRESS,
      cipher: createPacketCipher(KEY_A, KEY_B),
      transport: { send: (datagram) => this.onSend('initiator', datagram) },
      delegate: recordingDelegate(this.records.initiator),
    });
    this.responder = new Session({
      ...common,
      role: 'responder',
      timeCritical: options.responderTimeCritical,
      nearId: RESPONDER_ID,
      farId: INITIATOR_ID,
      address: INITIATOR_ADDRESS,
      cipher: createPacketCipher(KEY_B, KEY_A),
      transport: { send: (datagram) => this.onSend('responder', datagram) },
      delegate: recordingDelegate(this.records.responder),
    });
  }

  session(side: Side): Session {
    return side === 'initiator' ? this.initiator : this.responder;
  }

  /** Deliver queued datagrams (and whatever they provoke) until the wire is quiet. Returns how many moved. */
  pump(): number {
    let moved = 0;
    for (let guard = 0; guard < 10_000 && this.queue.length > 0; guard++) {
      const next = this.wire.reorder ? this.queue.pop()! : this.queue.shift()!;
      const to = this.session(next.to);
      const from = next.to === 'initiator' ? RESPONDER_ADDRESS : INITIATOR_ADDRESS;
      to.receiveDatagram(next.datagram, from);
      if (this.wire.duplicate) to.receiveDatagram(next.datagram, from);
      moved++;
    }
    return moved;
  }

  /** Let scheduled flushes (setImmediate) run and pump, until nothing moves. */
  async settle(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      await macrotask();
      if (this.pump() === 0 && this.queue.length === 0) {
        await macrotask();
        if (this.queue.length === 0) return;
      }
    }
  }

  /** Move simulated time forward in small steps, so re-armed timers fire as often as they would in real time. */
  async advance(ms: number, step = 100): Promise<void> {
    let left = ms;
    while (left > 0) {
      const d = Math.min(step, left);
      this.clock.increment(d);
      left -= d;
      await this.settle();
    }
  }

  /** Make `from` send a packet holding exactly these chunk bytes (crafted traffic the API cannot produce). */
  inject(from: Side, chunks: Uint8Array): void {
    const packet = new ByteWriter(64);
    const mode = from === 'initiator' ? MODE.INITIATOR : MODE.RESPONDER;
    writePacketHeader(packet, mode, timestampNow(this.clock.now()), undefined, from === 'responder' ? PACKET_FLAG.TCR : 0);
    packet.write(chunks);
    const cipher = from === 'initiator' ? createPacketCipher(KEY_A, KEY_B) : createPacketCipher(KEY_B, KEY_A);
    const farId = from === 'initiator' ? RESPONDER_ID : INITIATOR_ID;
    this.onSend(from, cipher.seal(farId, packet.view_()));
  }

  /** Chunks `from` sent since log index `since`, optionally of one type. */
  chunksFrom(from: Side, since = 0, type?: number): Chunk[] {
    const out: Chunk[] = [];
    for (const packet of this.log.slice(since)) {
      if (packet.from !== from) continue;
      for (const chunk of packet.chunks) if (type === undefined || chunk.type === type) out.push(chunk);
    }
    return out;
  }

  /** Everything delivered on flow `flowId` at `side`, joined. */
  received(side: Side, flowId: number): Uint8Array {
    return concat(...(this.records[side].messages.get(flowId) ?? []));
  }

  private onSend(from: Side, datagram: Uint8Array): void {
    const to: Side = from === 'initiator' ? 'responder' : 'initiator';
    const cleartext = this.observers[to].open(datagram);
    const chunks = cleartext ? decodeChunks(cleartext, readPacketHeader(cleartext).chunksOffset) : [];
    const dropped = this.wire.drop[from];
    this.log.push({ from, flags: cleartext ? cleartext[0]! : -1, chunks, dropped });
    if (dropped) return;
    (this.wire.hold[from] ? this.held : this.queue).push({ to, datagram: Uint8Array.from(datagram) });
  }

  /** Stop holding what `from` sends and put what was held on the wire, in the order it was sent. */
  release(from: Side): void {
    this.wire.hold[from] = false;
    const to: Side = from === 'initiator' ? 'responder' : 'initiator';
    for (let i = 0; i < this.held.length;) {
      if (this.held[i]!.to === to) this.queue.push(...this.held.splice(i, 1));
      else i++;
    }
  }
}

function newRecord(): SideRecord {
  return { opened: 0, failed: [], closed: [], flows: [], messages: new Map(), ended: [], accept: () => true };
}

function recordingDelegate(record: SideRecord): SessionDelegate {
  return {
    onFlow(_session, opening): FlowHandler | null {
      record.flows.push(opening);
      if (!record.accept(opening)) return null;
      const messages: Uint8Array[] = [];
      record.messages.set(opening.flowId, messages);
      return {
        onMessage: (message) => void messages.push(Uint8Array.from(message)),
        onEnd: () => void record.ended.push(opening.flowId),
      };
    },
    onOpened: () => void record.opened++,
    onFailed: (_session, reason) => void record.failed.push(reason),
    onClosed: (_session, reason) => void record.closed.push(reason),
  };
}

export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Actors created while `body` runs whose id starts with `prefix` (e.g. "flow:"), via the inspection hook. */
export async function capturingActors<T>(prefix: string, body: (actors: AnyActorRef[]) => Promise<T>): Promise<T> {
  const actors: AnyActorRef[] = [];
  setInspectionSink((event) => {
    const actor = event.actorRef as AnyActorRef;
    if (event.type === '@xstate.actor' && actor.id.startsWith(prefix)) actors.push(actor);
  });
  try {
    return await body(actors);
  } finally {
    setInspectionSink(undefined);
  }
}

// ---- model side ------------------------------------------------------------------------------------------
// A machine that updates context by mutating it inside inline actions (rather than with assign) works in a live
// actor, but the pure transition function the graph traversal uses does not run those mutations. modelOf rebuilds a machine with every inline action turned into an equivalent assign on a copy, leaving the
// named actions, guards and delays as they were.

type Config = { [key: string]: unknown };

function purifyAction(action: unknown): unknown {
  if (typeof action !== 'function') return action;
  // built-in actions (assign, raise, ...) carry a `type` and are already pure
  if (typeof (action as { type?: unknown }).type === 'string') return action;
  const mutate = action as (args: { context: object; event: unknown }) => void;
  return assign(({ context, event }: { context: object; event: unknown }) => {
    const draft = structuredClone(context);
    mutate({ context: draft, event });
    return draft;
  });
}

function purifyActions(actions: unknown): unknown {
  if (actions === undefined) return undefined;
  return Array.isArray(actions) ? actions.map(purifyAction) : purifyAction(actions);
}

function purifyTransition(transition: unknown): unknown {
  if (Array.isArray(transition)) return transition.map(purifyTransition);
  if (transition === null || typeof transition !== 'object') return transition;
  const t = transition as Config;
  return 'actions' in t ? { ...t, actions: purifyActions(t.actions) } : t;
}

function purifyTransitions(map: unknown): unknown {
  if (map === undefined) return undefined;
  const out: Config = {};
  for (const [key, value] of Object.entries(map as Config)) out[key] = purifyTransition(value);
  return out;
}

function purifyNode(node: Config): Config {
  const out: Config = { ...node };
  if ('entry' in node) out.entry = purifyActions(node.entry);
  if ('exit' in node) out.exit = purifyActions(node.exit);
  if ('on' in node) out.on = purifyTransitions(node.on);
  if ('after' in node) out.after = purifyTransitions(node.after);
  if ('states' in node) {
    const states: Config = {};
    for (const [key, child] of Object.entries(node.states as Config)) states[key] = purifyNode(child as Config);
    out.states = states;
  }
  return out;
}

/** `machine` with context updates visible to pure transitions, and the given guard implementations. */
export function modelOf<M extends AnyStateMachine>(machine: M, guards: { [name: string]: (args: { event: unknown }) => boolean }): M {
  const config = purifyNode(machine.config);
  const rebuilt = createMachine(config as never, machine.implementations as never) as unknown as M;
  return rebuilt.provide({ guards } as never) as M;
}

/** Every delayed-event type of a machine, with the id of the state node that arms it. */
export function delayedEvents(machine: AnyStateMachine): Array<{ type: string; delay: string; node: string }> {
  const out: Array<{ type: string; delay: string; node: string }> = [];
  const visit = (node: AnyStateMachine['root']): void => {
    for (const t of node.after) out.push({ type: t.eventType, delay: String(t.delay), node: node.id });
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  const seen = new Set<string>();
  return out.filter((e) => !seen.has(e.type) && seen.add(e.type));
}
