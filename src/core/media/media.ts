// FLV / RTMP media facts the relay needs: which video message is a key frame, which messages carry codec
// configuration (AVC and AAC sequence headers) that a late listener must receive before anything else,
// and a minimal FLV file reader/writer for fixtures and tools. Called per media message: no allocation.
import { WireError } from '../../errors.ts';

/** VIDEODATA frame type 1 (key frame) in the high nibble of the first byte. */
export function isKeyFrame(video: Uint8Array): boolean {
  return video.length > 0 && (video[0]! & 0xf0) === 0x10;
}

/** AVC (codec 7) packet type 0: the decoder configuration record every listener needs first. */
export function isAVCSequenceHeader(video: Uint8Array): boolean {
  return video.length > 1 && (video[0]! & 0x0f) === 7 && video[1] === 0;
}

/** AAC (sound format 10) packet type 0: the AudioSpecificConfig. */
export function isAACSequenceHeader(audio: Uint8Array): boolean {
  return audio.length > 1 && audio[0]! >> 4 === 0x0a && audio[1] === 0;
}

/** Codec configuration of either track: kept by the publication, sent first to each new listener. */
export function isVideoConfig(video: Uint8Array): boolean {
  return isAVCSequenceHeader(video);
}

export function isAudioConfig(audio: Uint8Array): boolean {
  return isAACSequenceHeader(audio);
}

export interface FLVTag {
  type: number;
  /** milliseconds, 32 bits (24-bit field plus its extension byte) */
  time: number;
  data: Uint8Array;
}

const FLV_HEADER = Uint8Array.of(0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0);

/** An FLV file: header, then tags each followed by its PreviousTagSize. */
export function writeFLV(tags: readonly FLVTag[]): Uint8Array {
  let size = FLV_HEADER.length;
  for (const tag of tags) size += 11 + tag.data.length + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(FLV_HEADER, 0);
  let at = FLV_HEADER.length;
  for (const tag of tags) {
    const length = tag.data.length;
    out[at] = tag.type;
    out[at + 1] = (length >> 16) & 0xff;
    out[at + 2] = (length >> 8) & 0xff;
    out[at + 3] = length & 0xff;
    out[at + 4] = (tag.time >> 16) & 0xff;
    out[at + 5] = (tag.time >> 8) & 0xff;
    out[at + 6] = tag.time & 0xff;
    out[at + 7] = (tag.time >>> 24) & 0xff;
    // stream id (3 bytes) stays 0
    out.set(tag.data, at + 11);
    view.setUint32(at + 11 + length, 11 + length);
    at += 11 + length + 4;
  }
  return out;
}

/** Tags of an FLV file; a truncated last tag is left out (a file still being written). */
export function readFLV(file: Uint8Array): FLVTag[] {
  if (file.length < 9 || file[0] !== 0x46 || file[1] !== 0x4c || file[2] !== 0x56) throw new WireError('not an FLV file');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = view.getUint32(5) + 4;
  const tags: FLVTag[] = [];
  while (at + 11 <= file.length) {
    const type = file[at]! & 0x1f;
    const length = (file[at + 1]! << 16) | (file[at + 2]! << 8) | file[at + 3]!;
    const time = ((file[at + 7]! << 24) | (file[at + 4]! << 16) | (file[at + 5]! << 8) | file[at + 6]!) >>> 0;
    if (at + 11 + length > file.length) break;
    tags.push({ type, time, data: file.subarray(at + 11, at + 11 + length) });
    at += 11 + length + 4;
  }
  return tags;
}

/**
 * Handler name of a data message body (0x12, or 0x0f with its format byte) and where the values after it
 * start; undefined when the body does not begin with an AMF0 string. Read by hand: no decoder per message.
 */
export function dataName(type: number, body: Uint8Array): { name: string; end: number } | undefined {
  const at = type === 0x0f ? 1 : 0;
  if (body.length < at + 3 || body[at] !== 0x02) return undefined;
  const length = (body[at + 1]! << 8) | body[at + 2]!;
  const end = at + 3 + length;
  if (end > body.length) return undefined;
  let name = '';
  for (let i = at + 3; i < end; i++) name += String.fromCharCode(body[i]!);
  return { name, end };
}
