// NetGroup bootstrap (RTMFP.md §6.6): the registry of groups and members, and the introductions. Members of
// a group sit on a ring ordered by group address, SHA-256(`21 0f <peer id>`), as MonaServer 2 orders it. A
// newcomer is introduced to its nearest members on that ring (up to 3 on each side, so up to 6) and each of
// them is told about the newcomer; when a member leaves, each of its former neighbours is told about the
// members that have just become one of its 6 nearest. docs/p2p.md says why.
import { createHash } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import { membershipMachine } from '../../../machines/group.ts';
import { ByteReader, equalBytes, fromHex, hex } from '../../bytes.ts';
import { WireError, errorCode } from '../../errors.ts';
import { observe } from '../../actors/observe.ts';
import { Bindings } from '../../actors/bindings.ts';
import type { FlowHandler } from './session/session.ts';
import type { Logger } from '../../log.ts';
import { peerEpd } from './rendezvous.ts';
import type { ClientPort, GroupPort, GroupsPort, MemberPort } from '../../core/ports.ts';

export const GROUP_ID_SIZE = 32;
/** Members introduced on each side of a newcomer on the ring. */
export const RING_SIDE = 3;
/** Metadata of GC flows, both ways: option `03 00 47 43`. */
export const GC_SIGNATURE = Uint8Array.of(0x47, 0x43);
/** GC message types (first byte, no TC header). */
export const GC_MESSAGE = { JOIN: 0x01, MEMBER: 0x0b } as const;
/** Join id types: 0x15 carries the group id itself, 0x10 (old Flash) something to hash into it. */
export const GROUP_ID_TYPE = { RAW: 0x15, HASHED: 0x10 } as const;

/** Where a real member hears about other peers (its GC writer). */
export interface MemberChannel {
  introduce(peerId: Uint8Array): void;
  /** the membership is over: finish the writer */
  close(): void;
}

export interface GroupRegistryOptions {
  logger?: Logger;
  onJoin?(client: ClientPort, group: Group): void;
  onUnjoin?(client: ClientPort, group: Group): void;
}

/** The group address of a peer: where it sits on a group ring. */
export function groupAddress(peerId: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(peerEpd(peerId)).digest());
}

/** Group id named by a join message (`01 | VLU length | idType | value`), or undefined for other messages. */
export function readJoin(message: Uint8Array): Uint8Array | undefined {
  const r = new ByteReader(message);
  if (r.u8() !== GC_MESSAGE.JOIN) return undefined;
  const length = r.vlu();
  if (length < 1 || length > r.available) throw new WireError('group join of a bad length');
  const type = r.u8();
  const value = r.read(length - 1);
  if (type === GROUP_ID_TYPE.RAW && value.length === GROUP_ID_SIZE) return Uint8Array.from(value);
  if (type === GROUP_ID_TYPE.HASHED) return new Uint8Array(createHash('sha256').update(value).digest());
  return undefined;
}

/** `0b <peer id>`: one member introduction on a GC writer. */
export function memberMessage(peerId: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + peerId.length);
  out[0] = GC_MESSAGE.MEMBER;
  out.set(peerId, 1);
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const memberBindings = new Bindings<Member>();
const boundMembershipMachine = membershipMachine.provide({
  actions: {
    joined: ({ context }) => {
      const member = memberBindings.get(context.key);
      member?.registry.placed(member);
    },
    unjoined: ({ context }) => {
      const member = memberBindings.get(context.key);
      member?.registry.unplaced(member);
    },
    left: ({ context }) => {
      const member = memberBindings.get(context.key);
      memberBindings.unbind(context.key);
      member?.registry.forget(member);
    },
  },
});

export class Member implements MemberPort {
  readonly rawId: Uint8Array;
  readonly id: string;
  /** SHA-256(21 0f peer id) */
  readonly ringKey: Uint8Array;
  /** undefined for a virtual member (groups:join) */
  readonly client: ClientPort | undefined;
  readonly channel: MemberChannel | undefined;
  readonly actor: Actor<typeof membershipMachine>;
  group: Group | undefined;
  readonly registry: GroupRegistry;

  constructor(registry: GroupRegistry, peerId: Uint8Array, client: ClientPort | undefined, channel: MemberChannel | undefined) {
    this.registry = registry;
    this.rawId = Uint8Array.from(peerId);
    this.id = hex(peerId);
    this.ringKey = groupAddress(peerId);
    this.client = client;
    this.channel = channel;
    const key = memberBindings.bind(this);
    this.actor = createActor(boundMembershipMachine, { input: { key }, ...observe('member', key) });
    this.actor.start();
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  get virtual(): boolean {
    return this.client === undefined;
  }

  /** The join message arrived (or a script joined it): take a place in the group. Once only. */
  join(groupId: Uint8Array): boolean {
    if (this.state !== 'joining' || groupId.length !== GROUP_ID_SIZE) return false;
    this.group = this.registry.groupFor(groupId);
    this.actor.send({ type: 'JOIN' });
    return true;
  }

  leave(reason: string): void {
    this.actor.send({ type: 'LEAVE', reason });
  }

  /** Lua has no __gc here: a script detaches its virtual member with this. */
  release(): void {
    this.leave('released');
  }
}

export class Group implements GroupPort {
  readonly rawId: Uint8Array;
  readonly id: string;
  /** ordered by ring key */
  readonly ring: Member[] = [];

  constructor(rawId: Uint8Array) {
    this.rawId = Uint8Array.from(rawId);
    this.id = hex(rawId);
  }

  /** Connected clients in the group (virtual members are not clients). */
  get size(): number {
    let n = 0;
    for (const m of this.ring) if (m.client) n++;
    return n;
  }

  clients(): ClientPort[] {
    const out: ClientPort[] = [];
    for (const m of this.ring) if (m.client && !out.includes(m.client)) out.push(m.client);
    return out;
  }

  insert(member: Member): void {
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(this.ring[mid]!.ringKey, member.ringKey) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.ring.splice(lo, 0, member);
  }

  remove(member: Member): boolean {
    const at = this.ring.indexOf(member);
    if (at < 0) return false;
    this.ring.splice(at, 1);
    return true;
  }

  /**
   * The members nearest to `member` on the ring: alternately the next and the previous ones, up to
   * RING_SIDE on each side, wrapping around, each peer id once, never `member`'s own peer id.
   */
  nearest(member: Member): Member[] {
    const at = this.ring.indexOf(member);
    const n = this.ring.length;
    const out: Member[] = [];
    if (at < 0) return out;
    for (let step = 1; step <= RING_SIDE && step < n; step++) {
      for (const index of [(at + step) % n, (at - step + n) % n]) {
        const other = this.ring[index]!;
        if (other === member || equalBytes(other.rawId, member.rawId)) continue;
        if (out.some((m) => equalBytes(m.rawId, other.rawId))) continue;
        out.push(other);
      }
    }
    return out;
  }
}

export class GroupRegistry implements GroupsPort {
  private readonly groups = new Map<string, Group>();
  private readonly byClient = new Map<ClientPort, Set<Member>>();
  private readonly options: GroupRegistryOptions;

  constructor(options: GroupRegistryOptions = {}) {
    this.options = options;
  }

  get count(): number {
    return this.groups.size;
  }

  [Symbol.iterator](): IterableIterator<Group> {
    return this.groups.values();
  }

  /** By id (64 hex characters) or raw id (32 bytes). */
  group(id: string | Uint8Array): Group | undefined {
    if (typeof id === 'string') return this.groups.get(id.toLowerCase());
    return id.length === GROUP_ID_SIZE ? this.groups.get(hex(id)) : undefined;
  }

  /** Memberships of a client, joined or not yet. */
  membersOf(client: ClientPort): Member[] {
    return [...(this.byClient.get(client) ?? [])];
  }

  /**
   * A virtual member (groups:join, mona:joinGroup): introduced to newcomers like a real one until released.
   * Ids as hex text or raw bytes; null when either is not 32 bytes.
   */
  join(peerId: string | Uint8Array, groupId: string | Uint8Array): Member | null {
    const peer = toRaw(peerId);
    const group = toRaw(groupId);
    if (!peer || !group) return null;
    const member = new Member(this, peer, undefined, undefined);
    member.join(group);
    return member;
  }

  /** A real membership in the joining state: a client's GC flow before its join message. */
  open(client: ClientPort, channel: MemberChannel): Member {
    const member = new Member(this, client.rawId, client, channel);
    let set = this.byClient.get(client);
    if (!set) this.byClient.set(client, (set = new Set()));
    set.add(member);
    return member;
  }

  /** The client is gone: it leaves every group, each with its onUnjoinGroup. */
  leaveAll(client: ClientPort, reason = 'disconnected'): void {
    for (const member of this.membersOf(client)) member.leave(reason);
    this.byClient.delete(client);
  }

  // ---- called by Member's actor ---------------------------------------------------------------------
  groupFor(rawId: Uint8Array): Group {
    const id = hex(rawId);
    let group = this.groups.get(id);
    if (!group) this.groups.set(id, (group = new Group(rawId)));
    return group;
  }

  placed(member: Member): void {
    const group = member.group!;
    group.insert(member);
    if (member.client) this.notify(() => this.options.onJoin?.(member.client!, group), 'onJoinGroup');
    for (const other of group.nearest(member)) {
      member.channel?.introduce(other.rawId);
      other.channel?.introduce(member.rawId);
    }
  }

  unplaced(member: Member): void {
    const group = member.group!;
    const neighbours = group.nearest(member);
    const knew = new Map<Member, Member[]>();
    for (const n of neighbours) if (n.channel) knew.set(n, group.nearest(n));
    group.remove(member);
    if (member.client) this.notify(() => this.options.onUnjoin?.(member.client!, group), 'onUnjoinGroup');
    for (const [n, before] of knew) {
      if (n.group !== group || n.state !== 'member') continue; // left meanwhile (from the script's event)
      for (const other of group.nearest(n)) if (!before.includes(other)) n.channel!.introduce(other.rawId);
    }
    if (group.ring.length === 0 && this.groups.get(group.id) === group) this.groups.delete(group.id);
  }

  forget(member: Member): void {
    member.channel?.close();
    if (member.client) this.byClient.get(member.client)?.delete(member);
    member.actor.stop();
  }

  private notify(call: () => void, event: string): void {
    try {
      call();
    } catch (error) {
      this.options.logger?.error({ err: error, code: errorCode(error) }, `application ${event} failed`);
    }
  }
}

function toRaw(id: string | Uint8Array): Uint8Array | null {
  if (typeof id !== 'string') return id.length === GROUP_ID_SIZE ? id : null;
  if (id.length === GROUP_ID_SIZE * 2 && /^[0-9a-f]+$/i.test(id)) return fromHex(id);
  return null;
}

/** A GC flow opened by a client. */
export interface GroupFlowHost {
  readonly client: ClientPort;
  /** a writer for `0b` introductions, associated with the client's GC flow */
  openChannel(): { write(message: Uint8Array): void; close(): void };
  logger?: Logger;
}

/**
 * The handler of one GC flow: the first join message places the member; the end of the flow takes it out.
 * The writer back to the client is opened with the membership, as the client expects answers on it.
 */
export function groupFlow(registry: GroupRegistry, host: GroupFlowHost): FlowHandler {
  let writer: { write(message: Uint8Array): void; close(): void } | undefined;
  const channel: MemberChannel = {
    introduce: (peerId) => {
      writer ??= host.openChannel();
      writer.write(memberMessage(peerId));
    },
    close: () => writer?.close(),
  };
  const member = registry.open(host.client, channel);
  return {
    onMessage: (message) => {
      try {
        const groupId = readJoin(message);
        if (groupId) {
          writer ??= host.openChannel();
          member.join(groupId);
        }
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        host.logger?.debug({ err: error.message, code: error.code }, 'malformed group message');
      }
    },
    onEnd: () => member.leave('group flow closed'),
  };
}
