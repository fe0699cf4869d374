// Which sessions of one endpoint recently received time-critical data (packets marked TC), so that every other
// session of the endpoint can tell its far end with TCR (RFC 7016 §2.2.4, §3.5.2.1): "I am receiving media from
// someone else, leave room for it". One per server (or client), shared by its sessions; two slots are enough to
// answer "did a session other than this one receive TC lately".
import { TIMECRITICAL_TIMEOUT_MS } from '../params.ts';

export class TimeCriticalReception {
  /** the session that received TC last, and when */
  private latest: object | undefined;
  private latestAt = -Infinity;
  /** the last time a session other than `latest` received TC */
  private otherAt = -Infinity;

  /** `session` received a packet marked TC. */
  received(session: object, now: number): void {
    if (session !== this.latest) {
      this.otherAt = this.latestAt;
      this.latest = session;
    }
    this.latestAt = now;
  }

  /** Whether a session other than `session` received TC within TIMECRITICAL_TIMEOUT_MS. */
  fromOthers(session: object, now: number): boolean {
    const at = session === this.latest ? this.otherAt : this.latestAt;
    return now - at <= TIMECRITICAL_TIMEOUT_MS;
  }
}
