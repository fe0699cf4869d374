// The RTMFP protocol as a system to explore: two endpoints, each running the real machine definitions of
// machines/ (a session, one sending flow's writer, one receiving flow) and the real flow receiver
// (src/protocols/rtmfp/flow/receiver.ts), joined by a wire that loses, duplicates and reorders packets.
//
// What is abstracted, and why:
// * The machines are not copied: every transition is xstate's pure `transition()` over the definitions the server
//   runs, and every named action they emit is given the effect its binding has in the code (session.ts, writer.ts).
//   An action the model does not know throws, so a new action cannot slip past the model unnoticed.
// * Time is not modelled: any armed timer (xstate `after`) may fire at any moment. Guards that read the clock
//   (`silent`, `gaveUp`) are free choices of the explorer, both outcomes tried. Guards that read queues
//   (`drained`, `retransmissionDue`) read the model's writer core; `unanswered` is the machine's own.
// * The sending side's bookkeeping (FlowWriter's queue, in-flight fragments, loss detection by later acks,
//   forward sequence numbers, startup options until the first ack) is a small copy of what flow/writer.ts
//   does per packet; the receiving side is the real FlowReceiver, cloned per state.
// * One packet per flush carries every chunk an endpoint has to send, as Session.flush packs them.
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { sessionMachine } from '../../machines/session.ts';
import { writerMachine } from '../../machines/writer.ts';
import { flowMachine } from '../../machines/flow.ts';
import { FlowReceiver } from '../../src/protocols/rtmfp/flow/receiver.ts';
import { ByteWriter } from '../../src/bytes.ts';
import { CHUNK, USER_DATA_FLAG, decodeChunks, type Chunk as WireChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import type { Move, System } from './explorer.ts';

export interface ModelConfig {
  /** messages the initiator writes at once, each as that many fragments */
  initiatorMessages: number[];
  /** fragments of the one message the responder answers with when the first message arrives */
  responderAnswer: number[];
  /** packets the wire may lose, duplicate (in total), and hold at once (more are dropped on sending) */
  losses: number;
  duplicates: number;
  wireCapacity: number;
  /** keepalive pings (a free `silent` guard) and unanswered pings before failure (the session's maxPings) */
  keepAlive: boolean;
  maxPings: number;
  /** writers may give up (a free `gaveUp` guard) */
  giveUp: boolean;
  /** the responder's application refuses the initiator's flow (Flow Exception) */
  reject: boolean;
  /** the responder's application refuses the connection: it answers `_error`, then its session hears REJECTED
   *  (ServerClient.reject) and closes; the initiator never connects */
  refuseConnection?: boolean;
  /**
   * Timers fire only while the wire is empty: every timeout is longer than a round trip, so no timer beats a
   * packet already on its way (no spurious retransmission, no keepalive while packets fly). Off, any armed
   * timer may fire at any moment.
   */
  timely: boolean;
  /** whether the initiator's application may close the session before everything is delivered */
  earlyClose: boolean;
  /** a deliberate bug, to see the check fail: the writer's `drained` guard ignores fragments in flight */
  mutant?: 'drainedIgnoresInFlight';
}

export const BASE: ModelConfig = {
  initiatorMessages: [1, 2],
  responderAnswer: [1],
  losses: 1,
  duplicates: 1,
  wireCapacity: 3,
  keepAlive: true,
  maxPings: 1,
  giveUp: true,
  reject: false,
  timely: true,
  earlyClose: true,
};

type Side = 'a' | 'b';
type Event = EventObject & Record<string, unknown>;
type Part = 'session' | 'writer' | 'flow';
const other = (side: Side): Side => (side === 'a' ? 'b' : 'a');

type Chunk =
  | { t: 'data'; seq: number; flags: number; fsn: number; opt: boolean; bytes: number[] }
  | { t: 'ack'; cum: number; ranges: Array<[number, number]> }
  | { t: 'close' | 'closeAck' | 'ping' | 'pingReply' | 'exception' };

interface Fragment {
  flags: number;
  bytes: number[];
}

interface InFlight {
  seq: number;
  resend: boolean;
  sentAtSeq: number;
}

/** What flow/writer.ts keeps per writer, reduced to what decides the protocol's behaviour. */
interface WriterCore {
  /** fragments queued so far; fragment i has sequence number i + 1 */
  plan: Fragment[];
  lastSeq: number;
  cumAck: number;
  inflight: InFlight[];
  finQueued: boolean;
  everAcked: boolean;
  ended: boolean;
  /** the session no longer holds it (it failed or closed): its failure fails nothing more */
  released: boolean;
}

interface End {
  session: AnyMachineSnapshot;
  writer: AnyMachineSnapshot;
  core: WriterCore;
  flow: AnyMachineSnapshot | undefined;
  receiver: FlowReceiver | undefined;
  /** messages the application received, in order */
  delivered: number[][];
  wroteAnswer: boolean;
  closedWriter: boolean;
  closedSession: boolean;
  /** its key, once its step is over */
  key?: string;
}

export interface World {
  a: End;
  b: End;
  /** packets in flight: `to|chunks` strings, sorted (a multiset) */
  wire: string[];
  losses: number;
  duplicates: number;
}

// ---- machines bound to the model ---------------------------------------------------------------------------

/** Choices the explorer makes for guards that read the clock, and the core the writer guards read. */
const oracle = { silent: false, gaveUp: false };
let guardCore: WriterCore | undefined;

const machines: Record<Part, AnyStateMachine> = {
  session: sessionMachine.provide({ guards: { silent: () => oracle.silent } }),
  writer: writerMachine.provide({
    guards: {
      drained: () => writerDrained(guardCore!),
      retransmissionDue: () => guardCore!.inflight.length > 0,
      gaveUp: () => oracle.gaveUp && guardCore!.inflight.length > 0,
    },
  }),
  flow: flowMachine,
};

/** Every (part, state, event) the exploration took: which declared moves the protocol really makes. */
export const taken = new Set<string>();

interface MachineStep {
  after: AnyMachineSnapshot;
  /** the named actions to run, in order (xstate's own assign/raise/cancel are done by `transition`) */
  actions: string[];
  restartsCloseTimeout: boolean;
}

/**
 * xstate's pure `transition()` is the only way the model moves a machine; the result depends only on the state,
 * the event and the guards' answers, so it is computed once per such triple (states with the same key behave the same).
 */
const memo = new Map<string, MachineStep>();

function machineStep(part: Part, before: AnyMachineSnapshot, event: Event, core: WriterCore): MachineStep {
  const answers =
    part === 'writer'
      ? `${+writerDrained(core)}${+(core.inflight.length > 0)}${+oracle.gaveUp}`
      : part === 'session'
        ? `${+oracle.silent}`
        : '';
  const memoKey = `${mutant ?? ''}${part}|${snapshotKey(before)}|${event.type}|${answers}`;
  const known = memo.get(memoKey);
  if (known) return known;
  guardCore = core;
  const [after, raw] = transition(machines[part], before, event);
  const all = raw as Array<{ type: string; params?: unknown }>;
  const mentions = (a: { params?: unknown }): boolean => /closeTimeout/.test(JSON.stringify(a.params ?? null));
  const result: MachineStep = {
    after,
    actions: all.filter((a) => !a.type.startsWith('xstate.')).map((a) => a.type),
    // the close deadline must not move while closing: a re-entered closeTimeout would let close last forever
    restartsCloseTimeout:
      part === 'session' &&
      all.some((a) => a.type === 'xstate.cancel' && mentions(a)) &&
      all.some((a) => a.type === 'xstate.raise' && mentions(a)),
  };
  if (snapshotKey(after) !== snapshotKey(before) || result.actions.length > 0) {
    taken.add(`${part}|${flatState(before)}|${eventName(event)}`);
  }
  memo.set(memoKey, result);
  return result;
}

let mutant: ModelConfig['mutant'];

function writerDrained(core: WriterCore): boolean {
  if (mutant === 'drainedIgnoresInFlight') return core.lastSeq === core.plan.length;
  return core.lastSeq === core.plan.length && core.inflight.length === 0;
}

const initialFlow = initialTransition(machines.flow, { kind: 'NetConnection' })[0];

/** An actor stopped by its parent (the session): as it was, no longer active. */
function stopped(snapshot: AnyMachineSnapshot): AnyMachineSnapshot {
  return { ...snapshot, status: 'stopped' } as AnyMachineSnapshot;
}

// ---- one step ----------------------------------------------------------------------------------------------

/** A world being changed by one step: copies of what the step touches, events queued to the actors. */
class Step {
  readonly w: World;
  private readonly queue: Array<{ side: Side; part: Part; event: Event }> = [];
  private running = false;
  readonly control: Record<Side, Chunk[]> = { a: [], b: [] };
  readonly errors: string[] = [];

  private readonly copied: Record<Side, boolean> = { a: false, b: false };

  constructor(
    private readonly from: World,
    readonly config: ModelConfig,
  ) {
    this.w = { a: from.a, b: from.b, wire: [...from.wire], losses: from.losses, duplicates: from.duplicates };
  }

  /** An endpoint to change: copied on first use, so a step shares what it does not touch with the state it came from. */
  end(side: Side): End {
    if (!this.copied[side]) {
      this.copied[side] = true;
      this.w[side] = copyEnd(this.from[side]);
    }
    return this.w[side];
  }

  send(side: Side, part: Part, event: Event): void {
    this.queue.push({ side, part, event });
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.apply(next.side, next.part, next.event);
    }
    this.running = false;
  }

  private apply(side: Side, part: Part, event: Event): void {
    const end = this.end(side);
    const before = end[part];
    if (!before || before.status !== 'active') return;
    const result = machineStep(part, before, event, end.core);
    end[part] = result.after;
    if (result.restartsCloseTimeout) this.errors.push(`${side} session: closeTimeout restarted by ${event.type}`);
    for (const action of result.actions) this.effect(side, part, action);
  }

  /** What each named action does in the code (the bindings in session.ts and flow/writer.ts). */
  private effect(side: Side, part: Part, action: string): void {
    const end = this.end(side);
    switch (`${part}.${action}`) {
      case 'session.opened':
        return; // the delegate hears it; nothing on the wire
      case 'session.sendPing':
        return void this.control[side].push({ t: 'ping' });
      case 'session.sendClose':
        return void this.control[side].push({ t: 'close' });
      case 'session.sendCloseAck':
        return void this.control[side].push({ t: 'closeAck' });
      case 'session.notifyFailed':
        end.core.released = true; // Session.abandonWriters: the session lets its writers go, then abandons them
        return this.send(side, 'writer', { type: 'ABANDON', reason: 'session failed' });
      case 'session.closed':
        // Session.onClosed: its writer and flow end with it, their actors stopped where they were (FlowWriter.stop)
        end.core.released = true;
        end.core.ended = true;
        if (end.writer?.status === 'active') end.writer = stopped(end.writer);
        if (end.flow?.status === 'active') end.flow = stopped(end.flow);
        end.receiver?.close();
        return;
      case 'writer.retransmit':
        for (const f of end.core.inflight) f.resend = true;
        return;
      case 'writer.abandoned':
        end.core.ended = true;
        // the NetConnection writer is critical: its failure fails the session (Session.onWriterFailed), unless
        // the session let it go first
        if (!end.core.released) this.send(side, 'session', { type: 'FAIL', reason: 'main writer failed' });
        return;
      case 'writer.closed':
        end.core.ended = true;
        return;
      default:
        throw new Error(`the model does not know the action ${part}.${action}: give it the effect the code gives it`);
    }
  }

  // -- the writer core (flow/writer.ts) --

  write(side: Side, fragments: number): void {
    const end = this.end(side);
    const core = end.core;
    if (core.ended || core.finQueued) return;
    const id = side === 'a' ? end.core.plan.length + 1 : 100 + end.core.plan.length + 1;
    core.plan.push(...fragmentsOf(id, fragments));
  }

  closeWriter(side: Side): void {
    const core = this.end(side).core;
    if (core.ended || core.finQueued) return;
    core.finQueued = true;
    if (core.lastSeq === 0 && core.plan.length === 0) return this.send(side, 'writer', { type: 'CLOSE' });
    core.plan.push({ flags: USER_DATA_FLAG.FINAL | USER_DATA_FLAG.ABANDON, bytes: [] });
    this.send(side, 'writer', { type: 'CLOSE' });
  }

  private emit(side: Side, out: Chunk[]): void {
    const end = this.end(side);
    const core = end.core;
    if (core.ended) return;
    for (const f of core.inflight) {
      if (!f.resend) continue;
      out.push(this.dataChunk(core, f.seq));
      f.resend = false;
      f.sentAtSeq = core.lastSeq;
    }
    while (core.lastSeq < core.plan.length) {
      const seq = ++core.lastSeq;
      out.push(this.dataChunk(core, seq));
      core.inflight.push({ seq, resend: false, sentAtSeq: seq });
    }
    if (stateName(end.writer) === 'idle' && core.inflight.length > 0) this.send(side, 'writer', { type: 'SENT' });
  }

  private dataChunk(core: WriterCore, seq: number): Chunk {
    const head = core.inflight[0];
    const lowest = head !== undefined && head.seq < seq ? head.seq : seq;
    const fsn = Math.max(core.cumAck, lowest - 1);
    const fragment = core.plan[seq - 1]!;
    return { t: 'data', seq, flags: fragment.flags, fsn: seq - fsn, opt: !core.everAcked, bytes: fragment.bytes };
  }

  private onAck(side: Side, cum: number, ranges: Array<[number, number]>): void {
    const end = this.end(side);
    const core = end.core;
    if (core.ended) return;
    let progress = false;
    let highest = Math.min(cum, core.lastSeq);
    for (const [, to] of ranges) if (to > highest && to <= core.lastSeq) highest = to;
    if (cum > core.cumAck) {
      core.cumAck = Math.min(cum, core.lastSeq);
      progress = true;
    }
    const kept: InFlight[] = [];
    for (const f of core.inflight) {
      if (f.seq <= core.cumAck || ranges.some(([from, to]) => f.seq >= from && f.seq <= to)) {
        progress = true;
        continue;
      }
      if (f.seq < highest && f.sentAtSeq < highest) f.resend = true;
      kept.push(f);
    }
    core.inflight = kept;
    if (progress) {
      core.everAcked = true;
      if (stateName(end.writer) === 'retransmitting') this.send(side, 'writer', { type: 'PROGRESS' });
    }
  }

  // -- the session core (session/session.ts) --

  receive(side: Side, chunks: Chunk[]): void {
    const end = this.end(side);
    if (end.session.status !== 'active') return; // an ended session forgot its keys: dropped
    if (stateName(end.session) === 'keying') this.send(side, 'session', { type: 'KEYED' });
    if (livenessOf(end.session) === 'pinging') this.send(side, 'session', { type: 'HEARD' });
    for (const chunk of chunks) {
      if (end.session.status !== 'active') return;
      switch (chunk.t) {
        case 'data':
          this.onData(side, chunk);
          break;
        case 'ack':
          this.onAck(side, chunk.cum, chunk.ranges);
          break;
        case 'ping':
          this.control[side].push({ t: 'pingReply' });
          break;
        case 'pingReply':
          break; // only mobility probes are answered this way
        case 'exception':
          if (!end.core.ended) this.send(side, 'writer', { type: 'EXCEPTION', code: 0 });
          break;
        case 'close':
          this.send(side, 'session', { type: 'FAR_CLOSE' });
          break;
        case 'closeAck':
          this.send(side, 'session', { type: 'FAR_CLOSE_ACK' });
          break;
      }
    }
  }

  private onData(side: Side, chunk: Extract<Chunk, { t: 'data' }>): void {
    const end = this.end(side);
    if (!end.receiver) {
      const usable = ['keying', 'open'].includes(stateName(end.session));
      if (!usable) return;
      end.receiver = new FlowReceiver(1, (message) => this.onMessage(side, message));
      // the first fragment creates the flow open; the application refuses it in the same call (Session.openFlow)
      end.flow = initialFlow;
      if (!chunk.opt || (side === 'b' && this.config.reject)) {
        this.send(side, 'flow', { type: 'REJECT', reason: chunk.opt ? 'refused' : 'no metadata' });
        this.control[side].push({ t: 'exception' });
      }
    } else {
      rebind(end.receiver, (message) => this.onMessage(side, message));
    }
    end.receiver.onFragment({
      type: CHUNK.USER_DATA,
      flags: chunk.flags,
      flowId: 1,
      sequence: chunk.seq,
      fsnOffset: chunk.fsn,
      options: chunk.opt ? [] : null,
      data: Uint8Array.from(chunk.bytes),
      next: false,
    });
    if (end.receiver.finished && end.flow?.status === 'active' && stateName(end.flow) !== 'complete') {
      this.send(side, 'flow', { type: 'FINISHED' });
    }
  }

  /** The application: the responder answers the first message and connects; the initiator connects on the answer. */
  private onMessage(side: Side, message: Uint8Array): void {
    const end = this.end(side);
    if (stateName(end.flow!) !== 'open') return; // a rejected flow has no handler
    end.delivered.push([...message]);
    if (end.delivered.length !== 1) return;
    if (side === 'a') {
      if (!this.config.refuseConnection) this.send(side, 'session', { type: 'CONNECTED' });
      return;
    }
    end.wroteAnswer = true;
    for (const fragments of this.config.responderAnswer) this.write(side, fragments);
    if (this.config.refuseConnection) this.send(side, 'session', { type: 'REJECTED', reason: 'refused' });
    else this.send(side, 'session', { type: 'CONNECTED' });
  }

  /** Session.flush on both ends: control chunks, acks, then the writer's fragments, as one packet each. */
  flush(): void {
    for (const side of ['a', 'b'] as const) {
      const peek = this.w[side];
      const core = peek.core;
      const writes =
        peek.session.status === 'active' && !core.ended && (core.lastSeq < core.plan.length || core.inflight.some((f) => f.resend));
      if (this.control[side].length === 0 && !peek.receiver?.ackNeeded && !writes) continue;
      const end = this.end(side);
      const chunks: Chunk[] = this.control[side];
      this.control[side] = [];
      if (end.receiver?.ackNeeded) chunks.push(readAck(end.receiver));
      if (end.session.status === 'active') this.emit(side, chunks);
      if (chunks.length === 0) continue;
      if (this.w.wire.length >= this.config.wireCapacity) continue; // the path is full: dropped
      insertSorted(this.w.wire, `${other(side)}|${JSON.stringify(chunks)}`);
    }
  }
}

// ---- the system --------------------------------------------------------------------------------------------

export function rtmfpSystem(config: ModelConfig = BASE): System<World> & { initialErrors: string[] } {
  const newEnd = (): End => ({
    session: initialTransition(machines.session, { key: 0, maxPings: config.maxPings })[0],
    writer: initialTransition(machines.writer, { key: 0 })[0],
    core: { plan: [], lastSeq: 0, cumAck: 0, inflight: [], finQueued: false, everAcked: false, ended: false, released: false },
    flow: undefined,
    receiver: undefined,
    delivered: [],
    wroteAnswer: false,
    closedWriter: false,
    closedSession: false,
  });
  mutant = config.mutant;
  const empty: World = { a: newEnd(), b: newEnd(), wire: [], losses: 0, duplicates: 0 };
  // the handshake is done: the initiator's NetConnection writer sends its messages
  const start = new Step(empty, config);
  for (const fragments of config.initiatorMessages) start.write('a', fragments);
  start.flush();

  const moves = (world: World): Array<Move<World>> => {
    const out: Array<Move<World>> = [];
    const step = (label: string, act: (s: Step) => void): void => {
      const s = new Step(world, config);
      act(s);
      s.flush();
      out.push({ label: s.errors.length > 0 ? `${label} !! ${s.errors.join('; ')}` : label, next: s.w });
    };
    world.wire.forEach((packet, i) => {
      if (i > 0 && world.wire[i - 1] === packet) return; // the same packet twice: one choice
      const bar = packet.indexOf('|');
      const to = packet.slice(0, bar) as Side;
      const chunks = JSON.parse(packet.slice(bar + 1)) as Chunk[];
      const what = `${to}: receives ${chunks.map(describe).join(' ')}`;
      step(what, (s) => {
        s.w.wire.splice(i, 1);
        s.receive(to, chunks);
      });
      if (world.losses < config.losses) {
        step(`wire loses ${what}`, (s) => {
          s.w.wire.splice(i, 1);
          s.w.losses++;
        });
      }
      if (world.duplicates < config.duplicates && world.wire.length < config.wireCapacity) {
        step(`wire duplicates ${what}`, (s) => {
          insertSorted(s.w.wire, packet);
          s.w.duplicates++;
        });
      }
    });
    const timersRun = !config.timely || world.wire.length === 0;
    for (const side of ['a', 'b'] as const) {
      const end = world[side];
      for (const part of ['session', 'writer', 'flow'] as const) {
        if (!timersRun) break;
        const snapshot = end[part];
        if (!snapshot || snapshot.status !== 'active') continue;
        for (const type of armedTimers(snapshot)) {
          const choices = part === 'session' ? (config.keepAlive ? [false, true] : [false]) : config.giveUp ? [false, true] : [false];
          for (const choice of choices) {
            step(`${side}.${part}: ${type.replace(/^xstate\.after\.(\w+)\..*$/, 'after $1')}${choice ? ' (clock says yes)' : ''}`, (s) => {
              oracle.silent = part === 'session' && choice;
              oracle.gaveUp = part === 'writer' && choice;
              s.send(side, part, { type });
              oracle.silent = oracle.gaveUp = false;
            });
          }
        }
      }
      // the applications: the initiator ends its flow and its session when it likes; the responder ends its
      // flow once it has answered
      if (!end.closedWriter && (side === 'a' || end.wroteAnswer)) {
        step(`${side}: application closes its writer`, (s) => {
          s.end(side).closedWriter = true;
          s.closeWriter(side);
        });
      }
      const finished = end.flow !== undefined && end.flow.status !== 'active';
      if (side === 'a' && !end.closedSession && end.session.status === 'active' && (config.earlyClose || finished)) {
        step(`${side}: application closes the session`, (s) => {
          s.end(side).closedSession = true;
          s.send(side, 'session', { type: 'CLOSE', reason: 'closed' });
        });
      }
    }
    return out;
  };

  return {
    initial: start.w,
    initialErrors: start.errors,
    key,
    moves,
    done: (world) =>
      world.wire.length === 0 &&
      (['a', 'b'] as const).every((side) =>
        ['session', 'writer', 'flow'].every((part) => (world[side][part as Part]?.status ?? 'done') !== 'active'),
      ),
    check: (world) => checkWorld(world, config),
  };
}

// ---- properties --------------------------------------------------------------------------------------------

/** The messages a side's writer has queued so far, as the bytes the receiver must deliver. */
function written(end: End): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  for (const f of end.core.plan) {
    if (f.flags & USER_DATA_FLAG.FINAL) break;
    current.push(...f.bytes);
    const type = f.flags & USER_DATA_FLAG.FRAGMENT_MASK;
    if (type === 0 || type === USER_DATA_FLAG.END) {
      out.push(current);
      current = [];
    }
  }
  return out;
}

function checkWorld(world: World, config: ModelConfig): string[] {
  const problems: string[] = [];
  for (const side of ['a', 'b'] as const) {
    const end = world[side];
    const peer = world[other(side)];
    const sent = written(peer);
    const got = end.delivered;
    // exactly once, in order, byte for byte: what arrived is a prefix of what was written
    if (got.length > sent.length || got.some((m, i) => JSON.stringify(m) !== JSON.stringify(sent[i]))) {
      problems.push(`${side} delivered ${JSON.stringify(got)} of ${JSON.stringify(sent)}: duplicated, reordered or corrupted`);
    }
    // an orderly close of a writer means everything it wrote was delivered
    const refused = side === 'b' && config.reject;
    if (!refused && stateName(peer.writer) === 'closed' && peer.core.plan.length > 0 && got.length !== sent.length) {
      problems.push(`${other(side)} writer closed but ${side} delivered ${got.length} of ${sent.length} messages`);
    }
    if (end.flow && stateName(end.flow) === 'complete' && got.length !== sent.length) {
      problems.push(`${side} flow complete with ${got.length} of ${sent.length} messages delivered`);
    }
    // a session that ended leaves no flow behind (final, or stopped with it); one that runs stops none of them
    for (const part of ['writer', 'flow'] as const) {
      const actor = end[part];
      if (end.session.status !== 'active' && actor?.status === 'active') {
        problems.push(`${side} session ended but its ${part} is still ${stateName(actor)}`);
      }
      if (end.session.status === 'active' && actor?.status === 'stopped') {
        problems.push(`${side} ${part} stopped in ${stateName(actor)} while its session runs`);
      }
    }
  }
  return problems;
}

// ---- helpers -----------------------------------------------------------------------------------------------

export function stateName(snapshot: AnyMachineSnapshot): string {
  const value = snapshot.value as unknown;
  return typeof value === 'string' ? value : Object.keys(value as object)[0]!;
}

function livenessOf(session: AnyMachineSnapshot): string | undefined {
  const value = session.value as { open?: { liveness?: string } } | string;
  return typeof value === 'object' ? value.open?.liveness : undefined;
}

function flatState(snapshot: AnyMachineSnapshot): string {
  const value = snapshot.value as unknown;
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  const walk = (v: unknown, prefix: string): void => {
    if (typeof v === 'string') parts.push(`${prefix}${v}`);
    else for (const [k, child] of Object.entries(v as object)) walk(child, `${prefix}${k}.`);
  };
  walk(value, '');
  return parts.join(',');
}

function eventName(event: Event): string {
  return event.type.replace(/^xstate\.after\.(\w+)\..*$/, 'after $1');
}

/** Delayed events of the active state nodes: the timers armed right now. */
function armedTimers(snapshot: AnyMachineSnapshot): string[] {
  const nodes = (snapshot as unknown as { _nodes: Array<{ after: Array<{ eventType: string }> }> })._nodes;
  const out = new Set<string>();
  for (const node of nodes) for (const t of node.after) out.add(t.eventType);
  return [...out];
}

function fragmentsOf(id: number, count: number): Fragment[] {
  const out: Fragment[] = [];
  for (let part = 0; part < count; part++) {
    let flags = 0;
    if (count > 1) flags = part === 0 ? USER_DATA_FLAG.BEGIN : part === count - 1 ? USER_DATA_FLAG.END : USER_DATA_FLAG.MIDDLE;
    out.push({ flags, bytes: [id, part] });
  }
  return out;
}

function readAck(receiver: FlowReceiver): Chunk {
  const w = new ByteWriter(64);
  receiver.writeAck(w);
  const [ack] = decodeChunks(w.view_(), 0) as Array<Extract<WireChunk, { type: 0x51 }>>;
  return { t: 'ack', cum: ack!.cumulativeAck, ranges: ack!.ranges.map(([from, to]) => [from, to] as [number, number]) };
}

function describe(chunk: Chunk): string {
  switch (chunk.t) {
    case 'data':
      return `DATA(${chunk.seq}${chunk.flags & USER_DATA_FLAG.FINAL ? ' FIN' : ''})`;
    case 'ack':
      return `ACK(${chunk.cum}${chunk.ranges.length ? ` +${JSON.stringify(chunk.ranges)}` : ''})`;
    default:
      return chunk.t.toUpperCase();
  }
}

function insertSorted(list: string[], item: string): void {
  let i = 0;
  while (i < list.length && list[i]! < item) i++;
  list.splice(i, 0, item);
}

type ReceiverFields = {
  processed: number;
  stored: Map<number, unknown>;
  storedBytes: number;
  partial: Uint8Array[] | null;
  partialBytes: number;
  finalSequence: number;
  closed: boolean;
  deliver: unknown;
  info: { lostBefore: number };
  ackNeeded: boolean;
};

/** A FlowReceiver is plain data: each state gets its own copy, delivering into the step that uses it. */
function cloneReceiver(receiver: FlowReceiver): FlowReceiver {
  const copy = Object.create(FlowReceiver.prototype) as FlowReceiver;
  Object.assign(copy, receiver);
  const fields = copy as unknown as ReceiverFields;
  const from = receiver as unknown as ReceiverFields;
  fields.stored = new Map(from.stored);
  fields.partial = from.partial ? [...from.partial] : null;
  fields.info = { lostBefore: 0 };
  return copy;
}

function rebind(receiver: FlowReceiver, deliver: (message: Uint8Array) => void): void {
  (receiver as unknown as ReceiverFields).deliver = deliver;
}

function receiverKey(receiver: FlowReceiver | undefined): string {
  if (!receiver) return '-';
  const r = receiver as unknown as ReceiverFields;
  return `${r.processed}/${[...r.stored.keys()].sort((x, y) => x - y).join('.')}/${r.finalSequence}/${r.partial?.length ?? 0}/${r.closed ? 1 : 0}`;
}

function copyEnd(end: End): End {
  return {
    ...end,
    key: undefined,
    core: { ...end.core, plan: [...end.core.plan], inflight: end.core.inflight.map((f) => ({ ...f })) },
    receiver: end.receiver ? cloneReceiver(end.receiver) : undefined,
    delivered: [...end.delivered],
  };
}

/** Snapshots come from the memoized machine steps: few distinct objects, each keyed once. */
const snapshotKeys = new Map<AnyMachineSnapshot, string>();

function snapshotKey(snapshot: AnyMachineSnapshot | undefined): string {
  if (!snapshot) return '-';
  let known = snapshotKeys.get(snapshot);
  if (known === undefined) snapshotKeys.set(snapshot, (known = computeSnapshotKey(snapshot)));
  return known;
}

function computeSnapshotKey(snapshot: AnyMachineSnapshot): string {
  const pings = (snapshot.context as { pings?: number }).pings;
  return `${snapshot.status === 'active' ? '' : '#'}${flatState(snapshot)}${pings ? `*${pings}` : ''}`;
}

/** An endpoint never changes once its step is over, so its key is computed once and kept on it. */
function endKey(end: End): string {
  return (end.key ??= computeEndKey(end));
}

function computeEndKey(end: End): string {
  const c = end.core;
  const core = `${c.plan.length}:${c.lastSeq}:${c.cumAck}:${c.inflight.map((f) => `${f.seq}${f.resend ? 'r' : ''}${f.sentAtSeq}`).join('.')}:${c.finQueued ? 'F' : ''}${c.everAcked ? 'A' : ''}${c.ended ? 'E' : ''}${c.released ? 'R' : ''}`;
  return [
    snapshotKey(end.session),
    snapshotKey(end.writer),
    snapshotKey(end.flow),
    core,
    receiverKey(end.receiver),
    JSON.stringify(end.delivered),
    `${end.wroteAnswer ? 'w' : ''}${end.closedWriter ? 'c' : ''}${end.closedSession ? 's' : ''}`,
  ].join(' ');
}

function key(world: World): string {
  return `${endKey(world.a)} | ${endKey(world.b)} | ${world.wire.join(' ; ')} | ${world.losses}${world.duplicates}`;
}
