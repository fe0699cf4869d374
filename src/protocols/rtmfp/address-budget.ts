// A per-address token bucket for startup packets: one address flooding IHellos or IIKeyings costs the
// server a map lookup per packet once its budget is spent, so clients from other addresses keep being
// served. Bounded: the least recently seen address is forgotten past `maxAddresses`.
import type { Clock } from '../../clock.ts';
import { STARTUP_BUDGET_ADDRESSES, STARTUP_BURST_SECONDS, STARTUP_PACKETS_PER_SECOND } from './params.ts';

export interface AddressBudgetLimits {
  /** packets refilled per second */
  perSecond: number;
  /** bucket size: packets an idle address may send at once */
  burst: number;
  /** addresses tracked at once */
  maxAddresses: number;
}

export const DEFAULT_STARTUP_BUDGET: AddressBudgetLimits = {
  perSecond: STARTUP_PACKETS_PER_SECOND,
  burst: STARTUP_PACKETS_PER_SECOND * STARTUP_BURST_SECONDS,
  maxAddresses: STARTUP_BUDGET_ADDRESSES,
};

interface Bucket {
  tokens: number;
  at: number;
}

export class AddressBudget {
  /** buckets by host, least recently seen first (an entry is moved to the end when seen) */
  private readonly buckets = new Map<string, Bucket>();
  /** the host taken last, already at the end of `buckets` */
  private last: string | undefined;

  constructor(
    readonly limits: AddressBudgetLimits,
    private readonly clock: Clock,
  ) {}

  /** Takes one packet from `host`'s budget: false when it has none left (drop the packet unread). */
  take(host: string): boolean {
    const now = this.clock.now();
    let bucket = this.buckets.get(host);
    if (bucket) {
      // Moved to the end only when another address came in between: a Map's delete + set churns its hash
      // table, and the table of a long-lived Map is reallocated in old space, so one address flooding
      // IHellos left megabytes of old-space garbage per 10,000 packets (issue 18, bench/flood.ts)
      if (host !== this.last) {
        this.buckets.delete(host);
        this.buckets.set(host, bucket);
      }
      bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.at) * this.limits.perSecond) / 1000);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.limits.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.limits.burst, at: now };
      this.buckets.set(host, bucket);
    }
    this.last = host;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.buckets.size;
  }
}
