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
// and tag tables) is promoted, and dies there. V8 collects old space when it has grown by at least 8 MB past what
// was live, and before its first full collection much more (a 240,000-IHello flood reached +31 MB of garbage, 100
// relay players 39 MB of heap, before V8's first mark-compact). `--optimize-for-size`, which V8 reads each time it
// sets that limit, makes the step 2 MB and the growth factor 1.3: the flood's RSS after the first 20,000 IHellos
// stays within ~3 MB, 100 relay players use ~81 MB instead of ~91, idle ~61 instead of ~63 at 2 s, at the same CPU
// per IHello and per delivered Mbit within run-to-run noise (bench/README.md). NIMBUS_OPTIMIZE_FOR_SIZE=0 leaves
// V8's default.
import { setFlagsFromString } from 'node:v8';

const factor = Number(process.env.NIMBUS_YOUNG_GROWTH ?? '1');
if (Number.isInteger(factor) && factor >= 1) setFlagsFromString(`--semi-space-growth-factor=${factor}`);
if (process.env.NIMBUS_OPTIMIZE_FOR_SIZE !== '0') setFlagsFromString('--optimize-for-size');
