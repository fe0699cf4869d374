// A small mutation-testing run (docs/testing.md): each mutant changes one operator or literal in one of the
// protocol's core files, the tests that cover that file run against it, and a mutant counts as killed when they
// fail (or time out). Mutants are drawn at random with a fixed seed from every site the operators match, so a
// run is reproducible; --all takes every site.
//
//   node --import tsx scripts/mutate.ts [--sample=60] [--seed=12] [--all] [--files=flow/receiver.ts,...] [--timeout=180]
//
// It edits the files in place and restores each one after its mutant: run it in a copy of the repository
// (docs/testing.md shows how), never in a tree someone is working in.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SAMPLE = Number(arg('sample') ?? 60);
const SEED = Number(arg('seed') ?? 12);
const ALL = process.argv.includes('--all');
const TIMEOUT_S = Number(arg('timeout') ?? 180);

const RTMFP = 'src/protocols/rtmfp/';
/** the files mutated, and the tests that claim to cover each */
const TARGETS: Record<string, string[]> = {
  'flow/receiver.ts': ['test/flow/receiver.test.ts', 'test/session/bounds.test.ts', 'test/session/reliability.test.ts'],
  'flow/writer.ts': [
    'test/machines/writer.test.ts',
    'test/session/reliability.test.ts',
    'test/session/timeout.test.ts',
    'test/session/congestion.test.ts',
  ],
  'session/session.ts': [
    'test/session/mobility.test.ts',
    'test/session/timeout.test.ts',
    'test/session/bounds.test.ts',
    'test/session/reliability.test.ts',
    'test/machines/session.test.ts',
    'test/machines/flow.test.ts',
    'test/session/congestion.test.ts',
  ],
  'session/congestion.ts': ['test/flow/congestion.test.ts', 'test/session/congestion.test.ts', 'test/session/reliability.test.ts'],
  'crypto/keying.ts': ['test/crypto/keying.test.ts', 'test/vectors/rfc7425.test.ts', 'test/vectors/flash.test.ts'],
  'crypto/packet-cipher.ts': ['test/crypto/packet-cipher.test.ts', 'test/vectors/flash.test.ts'],
  'crypto/dh.ts': ['test/crypto/dh.test.ts', 'test/crypto/keying.test.ts'],
  'crypto/certificate.ts': ['test/crypto/certificate.test.ts', 'test/crypto/keying.test.ts'],
  'handshake.ts': ['test/server/handshake.test.ts', 'test/server/half-open.test.ts', 'test/server/connect.test.ts'],
};
const FILES = arg('files')?.split(',') ?? Object.keys(TARGETS);

/** operator → its replacement; each match in code (not in comments or strings) is one mutation site */
const OPERATORS: Array<[RegExp, string]> = [
  [/ < /g, ' <= '],
  [/ <= /g, ' < '],
  [/ > /g, ' >= '],
  [/ >= /g, ' > '],
  [/ === /g, ' !== '],
  [/ !== /g, ' === '],
  [/ && /g, ' || '],
  [/ \|\| /g, ' && '],
  [/ \+ 1\b/g, ' - 1'],
  [/ - 1\b/g, ' + 1'],
  [/\btrue\b/g, 'false'],
  [/\bfalse\b/g, 'true'],
  [/ \+= /g, ' -= '],
  [/\breturn null;/g, 'return undefined as never;'],
  [/ \* /g, ' / '],
];

interface Mutant {
  file: string;
  line: number;
  from: string;
  to: string;
  source: string;
}

function sites(file: string): Mutant[] {
  const path = RTMFP + file;
  const original = readFileSync(path, 'utf8');
  const lines = original.split('\n');
  const out: Mutant[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const code = line.replace(/\/\/.*$/, '');
    const trimmed = code.trim();
    const skip = trimmed.startsWith('*') || trimmed.startsWith('/*') || trimmed.startsWith('import ') || trimmed === '';
    if (!skip) {
      for (const [pattern, replacement] of OPERATORS) {
        pattern.lastIndex = 0;
        for (let m = pattern.exec(code); m; m = pattern.exec(code)) {
          const before = code.slice(0, m.index);
          // not inside a string literal (an even number of quotes before the match)
          if ((before.match(/'/g)?.length ?? 0) % 2 === 1 || (before.match(/`/g)?.length ?? 0) % 2 === 1) continue;
          const at = offset + m.index;
          const source = original.slice(0, at) + replacement + original.slice(at + m[0].length);
          out.push({ file, line: i + 1, from: m[0].trim(), to: replacement.trim(), source });
        }
      }
    }
    offset += line.length + 1;
  }
  return out;
}

/** mulberry32: a seeded shuffle, so a sample is the same on every run */
function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const all = FILES.flatMap(sites);
const chosen = ALL ? all : shuffle(all, SEED).slice(0, SAMPLE);
const results: Array<{ file: string; line: number; mutation: string; killed: boolean; how: string }> = [];
for (const [index, mutant] of chosen.entries()) {
  const path = RTMFP + mutant.file;
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, mutant.source);
  let killed: boolean;
  let how: string;
  try {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=60000', '--test-force-exit', ...TARGETS[mutant.file]!],
      { encoding: 'utf8', timeout: TIMEOUT_S * 1000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (run.error || run.signal) {
      killed = true;
      how = 'timeout';
    } else {
      killed = run.status !== 0;
      how = killed ? (/# fail [1-9]/.test(run.stdout) ? 'test failed' : 'crashed') : 'survived';
    }
  } finally {
    writeFileSync(path, original);
  }
  results.push({ file: mutant.file, line: mutant.line, mutation: `${mutant.from} → ${mutant.to}`, killed, how });
  process.stderr.write(`${index + 1}/${chosen.length} ${mutant.file}:${mutant.line} ${mutant.from} → ${mutant.to}: ${how}\n`);
}
const killed = results.filter((r) => r.killed).length;
console.log(
  JSON.stringify(
    {
      mutants: results.length,
      sites: all.length,
      killed,
      score: results.length ? Math.round((killed / results.length) * 1000) / 10 : 0,
      seed: SEED,
      survivors: results.filter((r) => !r.killed),
    },
    null,
    1,
  ),
);
