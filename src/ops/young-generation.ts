// Imported first by the process entry (src/cli.ts) so that it runs before any other module: V8 grows its young
// generation (the semi-spaces, up to 16 MB each on 64-bit) whenever allocation is fast, at start-up, in an IHello
// flood, under relay load, and never hands those pages back. Measured (bench/README.md, issue 18): growth factor 1
// keeps the young generation at its initial size: idle RSS 69.6 -> 63.5 MB, the 240,000-IHello flood's RSS growth
// after the first 20,000 from ~22 MB to ~5 MB, 100 relay players 122 -> 87 MB RSS, with no more CPU per delivered
// Mbit (scavenges cost what survives, not the space's size). `--max-semi-space-size` would do the same but only on
// the command line; this flag is read each time V8 considers growing, so it can be set from inside the process.
// NIMBUS_YOUNG_GROWTH=<factor> sets another factor (V8's default is 2) for an operator who prefers throughput.
//
// The old generation too: what lives until a packet is acknowledged or a timer fires (in-flight fragments, address
// and tag tables) is promoted, and dies there. V8 grows the old generation's limit by a factor of up to 4 after a
// full collection: 300 relay players reached 154 MB RSS (181 MB peak). `--heap-growing-percent=30` (factor 1.3,
// read each time V8 sets the limit) keeps them at ~104 MB, a 240,000-IHello flood within ~3–4 MB after the first
// 20,000, at no more CPU per delivered Mbit. It replaces `--optimize-for-size`, which did the same for memory but
// also stops V8 keeping alive the maps its optimised code depends on: code optimised for short-lived objects was
// deoptimised at every full collection ("weak objects") and compiled again, ~10 % of a steady stream of
// connection lifecycles (bench/README.md). NIMBUS_HEAP_GROWING_PERCENT=<n> sets another percentage (0: V8's
// default); NIMBUS_OPTIMIZE_FOR_SIZE=1 sets `--optimize-for-size` as before.
import { setFlagsFromString } from 'node:v8';

const factor = Number(process.env.NIMBUS_YOUNG_GROWTH ?? '1');
if (Number.isInteger(factor) && factor >= 1) setFlagsFromString(`--semi-space-growth-factor=${factor}`);
const growingPercent = Number(process.env.NIMBUS_HEAP_GROWING_PERCENT ?? '30');
if (Number.isInteger(growingPercent) && growingPercent >= 0) setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
if (process.env.NIMBUS_OPTIMIZE_FOR_SIZE === '1') setFlagsFromString('--optimize-for-size');
