// RTMP protocol constants in one place, each with the section of /work/shared/docs/RTMP.md (and through it
// the Adobe specification, SPEC, or its errata, ERRATA) it comes from. Limits chosen here say so.

/** C0/S0 version byte: 3 = plain RTMP (RTMP.md §1.2; SPEC §5.2.2). Anything else is refused. */
export const RTMP_VERSION = 3;
/** C1/S1/C2/S2 size (RTMP.md §1.3; SPEC §5.2.3). */
export const HANDSHAKE_SIZE = 1536;

/** Digest handshake keys (RTMP.md §1.4): the 30/36-byte ASCII parts and the shared 32-byte tail. */
export const FP_KEY_TEXT = 'Genuine Adobe Flash Player 001';
export const FMS_KEY_TEXT = 'Genuine Adobe Flash Media Server 001';
export const KEY_TAIL = Uint8Array.of(
  0xf0,
  0xee,
  0xc2,
  0x4a,
  0x80,
  0x68,
  0xbe,
  0xe8,
  0x2e,
  0x00,
  0xd0,
  0xd1,
  0x02,
  0x9e,
  0x7e,
  0x57,
  0x6e,
  0xec,
  0x5d,
  0x2d,
  0x29,
  0x80,
  0x6f,
  0xab,
  0x93,
  0xb8,
  0xe6,
  0x36,
  0xcf,
  0xeb,
  0x31,
  0xae,
);
/** S1 bytes 4..7 in digest form (nginx's value, RTMP.md §1.4 step 2): ≥ 3 makes ffmpeg players check the digests. */
export const SERVER_VERSION = Uint8Array.of(0x0d, 0x0e, 0x0a, 0x0d);

/** Default chunk size in each direction (RTMP.md §2.5; SPEC §5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;
/** What the server announces after connect (nginx's 4096, RTMP.md §2.5/§2.7). */
export const OUT_CHUNK_SIZE = 4096;
/** Largest incoming chunk size honoured: above it behaves as it (RTMP.md §2.5, §7.1). */
export const MAX_CHUNK_SIZE = 0xffffff;

/** Message header sizes by fmt 0..3 (RTMP.md §2.2). */
export const MESSAGE_HEADER_SIZE = [11, 7, 3, 0] as const;
/** A timestamp field at this value means a 4-byte extended timestamp follows (RTMP.md §2.4). */
export const EXTENDED_TIMESTAMP = 0xffffff;

/** Chunk stream ids the server writes on (RTMP.md §3.1, §5.5: nginx's 5/6/7 layout). */
export const CSID = {
  /** protocol control and user control (RTMP.md §2.6) */
  CONTROL: 2,
  /** NetConnection commands */
  COMMAND: 3,
  /** NetStream status and data */
  STREAM: 5,
  AUDIO: 6,
  VIDEO: 7,
} as const;

/** Message type ids (RTMP.md §3.1; SPEC §5.4, §7.1). */
export const MSG = {
  SET_CHUNK_SIZE: 1,
  ABORT: 2,
  ACK: 3,
  USER_CONTROL: 4,
  WINDOW_ACK_SIZE: 5,
  SET_PEER_BANDWIDTH: 6,
  AUDIO: 8,
  VIDEO: 9,
  DATA_AMF3: 15,
  SHARED_OBJECT_AMF3: 16,
  COMMAND_AMF3: 17,
  DATA_AMF0: 18,
  SHARED_OBJECT_AMF0: 19,
  COMMAND_AMF0: 20,
  AGGREGATE: 22,
} as const;

/** User control events (RTMP.md §4; SPEC §7.1.7). */
export const EVENT = {
  STREAM_BEGIN: 0,
  STREAM_EOF: 1,
  STREAM_DRY: 2,
  SET_BUFFER_LENGTH: 3,
  STREAM_IS_RECORDED: 4,
  PING_REQUEST: 6,
  PING_RESPONSE: 7,
} as const;

/** Window acknowledgement size and peer bandwidth sent on connect (RTMP.md §2.7: ffmpeg, SRS and MonaServer use 2,500,000). */
export const WINDOW_ACK_SIZE = 2_500_000;
/** Set Peer Bandwidth limit type 2, dynamic (RTMP.md §2.6, §2.7). */
export const PEER_BANDWIDTH_DYNAMIC = 2;
/** Acknowledge received bytes every this many until the client announces its window (MonaServer's 128 KiB, RTMP.md §7.2). */
export const DEFAULT_ACK_WINDOW = 131_072;

/** Bounds (RTMP.md §7.1). Chosen here: media ≤ 8 MiB, commands ≤ 64 KiB, 64 chunk streams. */
export const MAX_MEDIA_MESSAGE = 8 * 1024 * 1024;
export const MAX_COMMAND_MESSAGE = 64 * 1024;
export const MAX_CHUNK_STREAMS = 64;
/** Total of partly received payloads a connection may hold (several media messages in flight). */
export const MAX_PARTIAL_BYTES = 16 * 1024 * 1024;
/** Message streams one client may create (RTMP.md §7.1 "cap createStream"). */
export const MAX_STREAMS = 256;

/**
 * Bytes queued on the socket above which a player is dropped outright: a reader this far behind never
 * catches up (RTMP.md §7.3 "above a hard limit ... close the player"). Below it, the listener's own
 * 256 KiB per-track limit (src/core/media/listener.ts) drops media and resyncs on a key frame.
 */
export const MAX_SOCKET_BACKLOG = 4 * 1024 * 1024;

/** Silence before the handshake must be complete (RTMP.md §7.1: 10–30 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time an orderly close waits for the socket to drain before destroying it. */
export const CLOSE_TIMEOUT_MS = 5_000;
