// A synthetic live H.264 + AAC stream at a chosen bit rate for the relay benchmark: 25 fps video with a key
// frame every 2 s, AAC frames of 1024 samples at 44.1 kHz. Real FLV packet headers, seeded random payloads,
// so that every run sends the same bytes. Relaying does not need decodable bitstreams.
import type { FLVTag } from '../../src/core/media/media.ts';

export const FPS = 25;
export const GOP_FRAMES = 50;
const AUDIO_FRAME_MS = (1024 * 1000) / 44_100;
const AUDIO_FRAME_BYTES = 186; // 64 kbit/s

export const AVC_SEQUENCE_HEADER = Uint8Array.of(
  0x17,
  0x00,
  0,
  0,
  0,
  0x01,
  0x64,
  0x00,
  0x1f,
  0xff,
  0xe1,
  0x00,
  0x04,
  0x67,
  0x64,
  0x00,
  0x1f,
  0x01,
  0x00,
  0x04,
  0x68,
  0xee,
  0x3c,
  0x80,
);
export const AAC_SEQUENCE_HEADER = Uint8Array.of(0xaf, 0x00, 0x12, 0x10);

/** A sequence header (codec configuration) rather than a coded frame. */
export function isConfig(packet: Uint8Array): boolean {
  return packet.length > 1 && packet[1] === 0;
}

export class SyntheticStream {
  private seed: number;
  private readonly keyBytes: number;
  private readonly interBytes: number;
  private frame = 0;
  private audioFrame = 0;

  /** `kbps`: total (audio + video) payload rate; the key frame weighs as much as five inter frames. */
  constructor(kbps: number, seed = 0x1234567) {
    this.seed = seed;
    const videoBytesPerGop = ((kbps - 64) * 1000 * (GOP_FRAMES / FPS)) / 8;
    this.interBytes = Math.round(videoBytesPerGop / (GOP_FRAMES - 1 + 5));
    this.keyBytes = this.interBytes * 5;
  }

  /** Tags with a timestamp below `untilMs` not yet produced, in time order. */
  next(untilMs: number): FLVTag[] {
    const out: FLVTag[] = [];
    for (;;) {
      const videoTime = Math.round((this.frame * 1000) / FPS);
      const audioTime = Math.round(this.audioFrame * AUDIO_FRAME_MS);
      if (videoTime >= untilMs && audioTime >= untilMs) return out;
      if (audioTime <= videoTime) {
        out.push({ type: 0x08, time: audioTime, data: this.payload([0xaf, 0x01], AUDIO_FRAME_BYTES) });
        this.audioFrame++;
      } else {
        const key = this.frame % GOP_FRAMES === 0;
        // ±25 % around the mean, as an encoder's frame sizes vary
        const mean = key ? this.keyBytes : this.interBytes;
        const size = Math.round(mean * (0.75 + this.random() * 0.5));
        out.push({ type: 0x09, time: videoTime, data: this.payload([key ? 0x17 : 0x27, 0x01, 0, 0, 0], size) });
        this.frame++;
      }
    }
  }

  private random(): number {
    this.seed ^= this.seed << 13;
    this.seed ^= this.seed >>> 17;
    this.seed ^= this.seed << 5;
    return (this.seed >>> 0) / 0x1_0000_0000;
  }

  private payload(header: number[], size: number): Uint8Array {
    const out = new Uint8Array(Math.max(size, header.length));
    out.set(header);
    for (let i = header.length; i < out.length; i += 4) {
      const word = (this.random() * 0x1_0000_0000) >>> 0;
      out[i] = word;
      if (i + 1 < out.length) out[i + 1] = word >>> 8;
      if (i + 2 < out.length) out[i + 2] = word >>> 16;
      if (i + 3 < out.length) out[i + 3] = word >>> 24;
    }
    return out;
  }
}
