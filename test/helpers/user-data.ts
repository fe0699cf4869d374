// A raw user data chunk for tests that inject fragments straight into a session (out of order, on any flow).
import { ByteWriter, utf8Encode } from '../../src/bytes.ts';
import { CHUNK, writeChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';

/** a NetStream flow's metadata option: what opens a flow if this fragment is its first */
const SIGNATURE = [{ type: 0, value: utf8Encode('TC\x04\x00\x01') }];

/** One user data chunk on `flowId` at `sequence`, `size` bytes, a whole message (stored if out of order). */
export function userDataFragment(flowId: number, sequence: number, size = 1000): Uint8Array {
  const w = new ByteWriter(size + 32);
  writeChunk(w, {
    type: CHUNK.USER_DATA,
    flags: 0,
    flowId,
    sequence,
    fsnOffset: sequence,
    options: SIGNATURE,
    data: new Uint8Array(size).fill(sequence),
    next: false,
  });
  return w.bytes();
}
