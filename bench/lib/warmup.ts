// The warm-up both relay benches may run before their counted seconds: the publisher's stream plays for whole
// key-frame intervals (so the counted run starts on a key frame), queues drain, and the loss at the players is
// measured apart. The publisher keeps one stream across runs (relay-publisher.ts), so timestamps go on.
import type { ChildProcess } from 'node:child_process';
import { reply } from './child.ts';
import { FPS, GOP_FRAMES } from './relay-media.ts';
import type { PublisherReport } from './relay-publisher.ts';

/** `seconds` rounded up to whole key-frame intervals of the synthetic stream. */
export function warmupSeconds(seconds: number): number {
  const gop = GOP_FRAMES / FPS;
  return Math.ceil(seconds / gop) * gop;
}

/**
 * Streams `seconds` (already rounded by warmupSeconds), waits `drainMs`, and returns the fraction of the messages
 * sent that the `players` did not receive. `received` reads the players' message count so far.
 */
export async function warmUp(
  publisher: ChildProcess,
  seconds: number,
  drainMs: number,
  players: number,
  received: () => Promise<number>,
): Promise<number> {
  const atStart = await received();
  const sent = await reply<PublisherReport>(publisher, 'sent', { cmd: 'go', seconds });
  await new Promise((resolve) => setTimeout(resolve, drainMs));
  return 1 - ((await received()) - atStart) / (sent.messages * players);
}
