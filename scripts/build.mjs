// `npm run build` (and `prepare`, so `npm install` in a checkout builds): compiles src/ and machines/ to
// dist/ with tsc (relative `.ts` imports rewritten to `.js`), copies what the server reads at run time
// beside its module (the inspector page), and writes dist/cli.js, the entry `npm start` and the `nimbus`
// bin run. Plain JavaScript so that building needs no TypeScript runner.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist/`;
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
// src/inspector/inspector.ts reads its page with new URL('./page/…', import.meta.url)
cpSync(`${root}src/inspector/page`, `${dist}src/inspector/page`, { recursive: true });
// the young generation is bounded before the server's modules are even parsed (src/ops/young-generation.ts):
// a static import of src/cli.js would compile the whole module graph first; so is TurboFan held off for start-up
// (src/ops/startup-tiering.ts), before the graph's ~120 files are resolved
writeFileSync(
  `${dist}cli.js`,
  "#!/usr/bin/env node\n// the server process: see src/cli.ts\nimport './src/ops/young-generation.js';\nimport './src/ops/startup-tiering.js';\nawait import('./src/cli.js');\n",
);
chmodSync(`${dist}cli.js`, 0o755);
