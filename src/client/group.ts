// NetGroup bootstrap, client side (RTMFP.md §6.6): a GC flow to the server carrying the join message
// `01 21 15 <group id>`, and the server's GC writer back, whose messages `0b <peer id>` introduce members.
// What a NetGroup then does peer to peer is the application's business (PeerHub.connect to the members).
import { EventEmitter } from 'node:events';
import { ByteWriter, hex } from '../bytes.ts';
import type { FlowHandler, Session } from '../protocols/rtmfp/session/session.ts';
import type { FlowWriter } from '../protocols/rtmfp/flow/writer.ts';
import { GC_MESSAGE, GC_SIGNATURE, GROUP_ID_TYPE } from '../protocols/rtmfp/groups.ts';

export { GC_SIGNATURE };

export interface NetGroupEvents {
  /** the server introduced a member (each peer id once) */
  member: [peerId: Uint8Array];
}

/** `01 21 15 <32-byte group id>`. */
export function encodeJoin(groupId: Uint8Array): Uint8Array {
  return new ByteWriter(3 + groupId.length)
    .u8(GC_MESSAGE.JOIN)
    .vlu(1 + groupId.length)
    .u8(GROUP_ID_TYPE.RAW)
    .write(groupId)
    .bytes();
}

export class NetGroup extends EventEmitter<NetGroupEvents> {
  readonly groupId: Uint8Array;
  /** peer ids the server introduced, hex, in arrival order */
  readonly members: string[] = [];
  private readonly writer: FlowWriter;

  /** Opens the GC flow (associated with the server's NetConnection flow, as librtmfp does) and joins. */
  constructor(session: Session, groupId: Uint8Array, netConnectionFlowId: number | undefined) {
    super();
    if (groupId.length !== 32) throw new RangeError('a group id is 32 bytes');
    this.groupId = Uint8Array.from(groupId);
    this.writer = session.newWriter(GC_SIGNATURE, netConnectionFlowId);
    this.writer.write(encodeJoin(this.groupId));
  }

  /** Our GC flow's id: the server's answers are associated with it. */
  get flowId(): number {
    return this.writer.id;
  }

  /** The handler of the server's GC flow for this group. */
  flow(): FlowHandler {
    return {
      onMessage: (message) => {
        if (message.length !== 33 || message[0] !== GC_MESSAGE.MEMBER) return;
        const peerId = message.slice(1);
        const id = hex(peerId);
        if (this.members.includes(id)) return;
        this.members.push(id);
        this.emit('member', peerId);
      },
    };
  }

  /** Leave: finish the GC flow (the server takes the member off the ring). */
  leave(): void {
    this.writer.close();
  }
}
