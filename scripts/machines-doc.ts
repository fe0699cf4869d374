// Regenerates docs/machines.md from machines/*.ts. `--check` only reports whether the file is up to date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadMachineModules, machinesMarkdown } from '../src/inspector/machines-doc.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}docs/machines.md`;
const text = machinesMarkdown(await loadMachineModules(`${root}machines`));

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write('docs/machines.md is stale: run node --import tsx scripts/machines-doc.ts\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
