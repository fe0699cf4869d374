// What the NetConnection and NetStream layers (client.ts, net-stream.ts, writer-port.ts) use of their TCP
// connection (connection.ts implements it): the seam that keeps the files of this folder free of import cycles.
import type { Core } from '../../core/core.ts';
import type { Logger, RateLimitedLog } from '../../log.ts';

export interface RtmpLink {
  readonly core: Core;
  readonly logger: Logger;
  /** per-cause log limiter for what any client can trigger at will (bad paths); absent: plain logging */
  readonly rateLog?: RateLimitedLog | undefined;
  /** "ip:port" of the peer */
  readonly address: string;
  /** round trip of the last ping, ms */
  readonly rtt: number;
  readonly lastReceptionTime: number;
  /** [RTMP] timeout in ms, or the one onConnection returned */
  timeoutMs: number;
  /** bytes queued on the socket */
  readonly backlog: number;
  /** nothing can be written any more (closing, failed or closed) */
  readonly writable: boolean;
  /** a TC message (type u8 | time u32 | payload) on a chunk stream and message stream */
  sendTC(csid: number, streamId: number, message: Uint8Array): void;
  /** a relayed audio/video TC message, encoded once for every player */
  sendMedia(csid: number, streamId: number, message: Uint8Array): void;
  userControl(event: number, ...values: number[]): void;
  /** Window Ack Size, Set Peer Bandwidth, Set Chunk Size and StreamBegin 0, sent before the connect `_result` */
  sendProtocolSettings(): void;
  flush(): void;
  /** orderly close */
  close(reason: string): void;
  /** the lifecycle facts of the NetConnection dialogue, for the connection's actor */
  onConnected(): void;
  onRejected(reason: string): void;
}
