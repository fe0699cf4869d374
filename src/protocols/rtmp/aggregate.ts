// Aggregate messages (type 22, RTMP.md §3.3): a run of FLV tags split into the messages they carry, each
// timestamp = aggregate timestamp + (tag timestamp − first tag timestamp), as SRS and ffmpeg do. Every
// length is checked; a truncated aggregate is refused whole.
import { WireError } from '../../errors.ts';

export interface AggregatedMessage {
  type: number;
  timestamp: number;
  payload: Uint8Array;
}

export function splitAggregate(body: Uint8Array, timestamp: number): AggregatedMessage[] {
  const out: AggregatedMessage[] = [];
  let at = 0;
  let first: number | undefined;
  while (at < body.length) {
    if (at + 11 > body.length) throw new WireError('truncated aggregate tag header', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    const type = body[at]! & 0x1f;
    const size = (body[at + 1]! << 16) | (body[at + 2]! << 8) | body[at + 3]!;
    const time = ((body[at + 7]! << 24) | (body[at + 4]! << 16) | (body[at + 5]! << 8) | body[at + 6]!) >>> 0;
    if (at + 11 + size + 4 > body.length) throw new WireError('truncated aggregate tag', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    first ??= time;
    out.push({ type, timestamp: (timestamp + time - first) >>> 0, payload: body.subarray(at + 11, at + 11 + size) });
    at += 11 + size + 4;
  }
  return out;
}
