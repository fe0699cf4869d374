// TurboFan held off during start-up (src/ops/startup-tiering.ts): a function hot before resumeOptimisation() is not
// optimised, and is once optimisation resumes. Read from V8's own --trace-opt in a child process; hot() is called
// from a function V8 may not optimise (so it is never inlined) and compiled on the main thread (so the trace is
// complete when the script prints).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/ops/startup-tiering.ts', import.meta.url));
const run = promisify(execFile);

const script = `
const { resumeOptimisation, optimisationDeferred } = await import(${JSON.stringify(MODULE)});
function hot(x) { return (x * 31 + 7) % 1009; }
function spin() { let s = 0; for (let i = 0; i < 3e6; i++) s += hot(i); return s; }
%NeverOptimizeFunction(spin);
spin(); spin();
console.log('DEFERRED ' + optimisationDeferred());
resumeOptimisation();
resumeOptimisation();
spin(); spin();
console.log('RESUMED ' + !optimisationDeferred());
`;

async function trace(env: NodeJS.ProcessEnv): Promise<{ before: string; after: string }> {
  const { stdout } = await run(
    process.execPath,
    ['--trace-opt', '--allow-natives-syntax', '--no-concurrent-recompilation', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      env: { ...process.env, ...env },
      timeout: 30_000,
    },
  );
  const [before = '', after = ''] = stdout.split(/^DEFERRED .*$/m);
  return { before, after };
}

const optimisedHot = (text: string) => /completed (optimizing|compiling) .*<JSFunction hot /.test(text);

test('start-up runs without TurboFan, and hot code is optimised once it resumes', { timeout: 30_000 }, async () => {
  const { before, after } = await trace({ NIMBUS_STARTUP_TURBOFAN: '' });
  assert.equal(optimisedHot(before), false, 'hot() optimised while start-up holds TurboFan off');
  assert.ok(optimisedHot(after), 'hot() optimised after resumeOptimisation()');
  assert.match(after, /RESUMED true/);
});

test('NIMBUS_STARTUP_TURBOFAN=1 leaves TurboFan on from the start', { timeout: 30_000 }, async () => {
  const { before } = await trace({ NIMBUS_STARTUP_TURBOFAN: '1' });
  assert.ok(optimisedHot(before), 'hot() optimised during start-up');
});
