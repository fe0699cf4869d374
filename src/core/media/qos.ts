// QualityOfService as the Lua API shows it (publication.audioQOS, listener.videoQOS…), fed by real traffic:
// one `add` per media message, constant work, no history kept beyond the current one-second window.
import type { Clock } from '../../clock.ts';

const WINDOW_MS = 1_000;

export class QualityOfService {
  /** frames removed while waiting for a key frame or because the receiver was too slow */
  droppedFrames = 0;
  /** wall-clock time (ms since the epoch, as mona:time()) of the last non-empty message sent or received:
   *  MonaServer's QualityOfService updates it on each send, and MonaStatus reads `mona:time() - lastSendingTime` */
  lastSendingTime = 0;
  /** ms, the round trip of the session carrying it when known */
  latency = 0;
  /** fraction of the bytes that could not be sent at once (queued behind a slow receiver), 0..1 */
  congestionRate = 0;
  private readonly clock: Clock;
  private windowStart: number;
  private windowBytes = 0;
  private windowPackets = 0;
  private windowLost = 0;
  private rate = 0;
  private lost = 0;

  constructor(clock: Clock) {
    this.clock = clock;
    this.windowStart = clock.now();
  }

  /** bytes per second over the last complete window */
  get byteRate(): number {
    this.roll(this.clock.now());
    return this.rate;
  }

  /** lost / (received + lost) over the last complete window, 0..1 */
  get lostRate(): number {
    this.roll(this.clock.now());
    return this.lost;
  }

  add(_time: number, bytes: number, lost = 0): void {
    const now = this.clock.now();
    this.roll(now);
    if (bytes > 0) this.lastSendingTime = now;
    this.windowBytes += bytes;
    this.windowPackets++;
    this.windowLost += lost;
  }

  private roll(now: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    // a window with no traffic at all reads as zero, not as the last busy one
    const seconds = elapsed / 1_000;
    this.rate = elapsed >= 2 * WINDOW_MS && this.windowBytes === 0 ? 0 : Math.round(this.windowBytes / seconds);
    const total = this.windowPackets + this.windowLost;
    this.lost = total === 0 ? 0 : this.windowLost / total;
    this.windowStart = now;
    this.windowBytes = 0;
    this.windowPackets = 0;
    this.windowLost = 0;
  }
}
