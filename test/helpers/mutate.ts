// Byte-level mutations for fuzzing: fast-check arbitraries that derive hostile variants from real packets.
// Edits favour the values that sit on decoder boundaries (VLU continuation bits, 0xff padding, zero lengths).
import fc from 'fast-check';
import { concat } from '../../src/bytes.ts';

export type Edit =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

const interestingByte = fc.oneof(
  fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x10, 0x11, 0x30, 0x38, 0x0c, 0x4c, 0x51, 0x50),
  fc.integer({ min: 0, max: 255 }),
);

export const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: interestingByte }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 9 }) }) },
);

/** A copy of `base` with the edits applied in order; positions wrap around the current length. */
export function applyEdits(base: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let bytes: Uint8Array = base.slice();
  for (const edit of edits) {
    const at = bytes.length === 0 ? 0 : edit.at % (bytes.length + (edit.kind === 'insert' ? 1 : 0));
    switch (edit.kind) {
      case 'set':
        if (bytes.length > 0) bytes[at] = edit.value;
        break;
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'insert':
        bytes = concat(bytes.subarray(0, at), edit.bytes, bytes.subarray(at));
        break;
      case 'delete':
        bytes = concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + edit.count)));
        break;
    }
  }
  return bytes;
}

/** Mutants of one of `bases` (1 to `maxEdits` edits). */
export function mutantOf(bases: readonly Uint8Array[], maxEdits = 6): fc.Arbitrary<Uint8Array> {
  return fc
    .record({ base: fc.integer({ min: 0, max: bases.length - 1 }), edits: fc.array(editArbitrary, { minLength: 1, maxLength: maxEdits }) })
    .map(({ base, edits }) => applyEdits(bases[base]!, edits));
}
