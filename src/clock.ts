// One time source for actors (XState delays) and for the plain-code cores (RTO, keepalive arithmetic),
// so a test can drive both with xstate's SimulatedClock.

export interface Clock {
  now(): number;
  // XState's Clock contract: timer handles are opaque.
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
    const handle = setTimeout(fn, ms);
    // Protocol timers must never keep the process alive on their own: shutdown is explicit.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
