// Runs every bench/*.ts (but this one) in its own process, one after another, and prints one JSON array
// of every JSON line they printed, each tagged with its script. Run: node --import tsx bench/run.ts
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const scripts = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts')
  .sort();
const results: Array<Record<string, unknown>> = [];
let failed = 0;
for (const script of scripts) {
  process.stderr.write(`bench ${script}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 180_000,
  });
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('{'));
  for (const line of lines) results.push({ script, ...(JSON.parse(line) as Record<string, unknown>) });
  if (run.status !== 0) {
    failed++;
    results.push({ script, error: run.error?.message ?? `exit ${run.status ?? run.signal}` });
  }
}
console.log(JSON.stringify(results, null, 1));
process.exitCode = failed > 0 ? 1 : 0;
