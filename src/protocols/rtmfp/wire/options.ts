// RTMFP options and option lists (RFC 7016 §2.1.3–2.1.4): `VLU length | VLU type | value`, where length
// covers type + value and a zero length is the marker that ends a list. EPDs, certificates, key components
// and user-data options are all option lists, so every one of them goes through here.

import { ByteReader, ByteWriter, vluLength } from '../../../bytes.ts';
import { WireError } from '../../../errors.ts';

export interface RTMFPOption {
  type: number;
  /** A view into the source bytes, not a copy. */
  value: Uint8Array;
}

/** Options until a marker (consumed) or `end` (default: the reader's end). Values are views. */
export function readOptionList(r: ByteReader, end: number = r.end): RTMFPOption[] {
  const list: RTMFPOption[] = [];
  while (r.position < end) {
    const length = r.vlu();
    if (length === 0) break;
    const optionEnd = r.position + length;
    if (optionEnd > end) throw new WireError(`option of ${length} bytes overruns its list`, { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    const type = r.vlu();
    if (r.position > optionEnd) throw new WireError('option type overruns its option', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    list.push({ type, value: r.read(optionEnd - r.position) });
  }
  if (r.position > end) throw new WireError('option list overruns its field', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
  return list;
}

/** One option; the caller writes the marker (`w.u8(0)`) when the list needs one. */
export function writeOption(w: ByteWriter, type: number, value: Uint8Array): void {
  w.vlu(vluLength(type) + value.length)
    .vlu(type)
    .write(value);
}

/** Options followed by the marker. */
export function writeOptionList(w: ByteWriter, list: readonly RTMFPOption[]): void {
  for (const o of list) writeOption(w, o.type, o.value);
  w.u8(0);
}

/** Options followed by the marker, as bytes: what userDataHeaderSize and writeUserData expect. */
export function encodeOptionList(list: readonly RTMFPOption[]): Uint8Array {
  const w = new ByteWriter(optionListSize(list));
  writeOptionList(w, list);
  return w.bytes();
}

/** Encoded size of the list including its marker. */
export function optionListSize(list: readonly RTMFPOption[]): number {
  let n = 1;
  for (const o of list) {
    const length = vluLength(o.type) + o.value.length;
    n += vluLength(length) + length;
  }
  return n;
}

export function findOption(list: readonly RTMFPOption[], type: number): RTMFPOption | undefined {
  for (const o of list) if (o.type === type) return o;
  return undefined;
}
