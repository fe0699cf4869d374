// The package as users get it: `npm pack`, installed into an empty folder with no network (the
// dependencies come from npm's cache, pinned by a lock derived from ours), then its `nimbus` bin serves
// a www/ folder and a program imports `nimbus/client` (JavaScript and type declarations) and calls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  link?: boolean;
  [key: string]: unknown;
}

/**
 * A consumer's package-lock.json for the tarball: our lock's production entries (so `npm ci --offline`
 * finds every tarball in the cache by its integrity), the bundled patched fengari under nimbus/.
 */
function consumerLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(repository, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const root = lock.packages['']!;
  const bundled = new Set<string>();
  const visit = (name: string): void => {
    if (bundled.has(name)) return;
    bundled.add(name);
    for (const dependency of Object.keys((lock.packages[`node_modules/${name}`]?.dependencies as object) ?? {})) visit(dependency);
  };
  for (const name of (root.bundleDependencies as string[]) ?? []) visit(name);
  const resolved = `file:${tarball}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { nimbus: resolved } },
    'node_modules/nimbus': {
      version: root.version,
      resolved,
      license: root.license,
      bin: root.bin,
      engines: root.engines,
      dependencies: root.dependencies,
      bundleDependencies: root.bundleDependencies,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.devOptional || entry.link) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (bundled.has(name)) {
      const { resolved: _r, integrity: _i, ...rest } = entry;
      packages[`node_modules/nimbus/${path}`] = { ...rest, inBundle: true };
      continue;
    }
    // entries written without their address: the registry's, which the cache knows by integrity
    packages[path] = {
      ...entry,
      resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`,
    };
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

/** Runs `nimbus` (the installed bin) until it logs that RTMFP listens; resolves its port. */
function startBin(dir: string): { port: Promise<number>; stop(): Promise<number | null> } {
  const child = spawn(
    join(dir, 'node_modules', '.bin', 'nimbus'),
    ['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0'],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /RTMFP server listening on [^:]+:(\d+)/.exec(output);
      if (found) resolve(Number(found[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`nimbus exited with ${code}: ${output}`)));
  });
  return {
    port,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

test('npm pack, installed offline elsewhere: the nimbus bin serves and nimbus/client connects', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await run(process.execPath, [join(repository, 'scripts', 'build.mjs')], { cwd: repository });
  // --ignore-scripts: `prepare` would build again (done above) and run patch-package on the shared tree
  const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repository });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const paths = new Set(packed!.files.map((f) => f.path));
  assert.ok(paths.has('dist/cli.js') && paths.has('dist/src/client/index.d.ts') && paths.has('LICENSE'), 'built files and LICENSE packed');
  assert.ok(![...paths].some((p) => p.startsWith('src/') || p.startsWith('test/')), 'no TypeScript sources in the package');
  const tarball = join(dir, packed!.filename);

  const consumer = join(dir, 'consumer');
  cpSync(join(repository, 'www'), join(consumer, 'www'), { recursive: true });
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { nimbus: `file:${tarball}` } }),
  );
  writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(tarball)));
  await run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: consumer, maxBuffer: 1 << 24 });
  // the Lua 5.1 patches of fengari travel with the package (bundled), since patch-package cannot run there
  assert.match(readFileSync(join(consumer, 'node_modules/nimbus/node_modules/fengari/src/lapi.js'), 'utf8'), /nimbus:/);

  const server = startBin(consumer);
  t.after(() => server.stop());
  const port = await server.port;
  writeFileSync(
    join(consumer, 'call.mjs'),
    `import { NetConnection } from 'nimbus/client';
const nc = await NetConnection.connect('rtmfp://127.0.0.1:${port}/');
const answer = await nc.call('echo', 'from the tarball');
await nc.close();
process.stdout.write(JSON.stringify(answer));
`,
  );
  const called = await run(process.execPath, ['call.mjs'], { cwd: consumer, timeout: 20_000 });
  assert.deepEqual(JSON.parse(called.stdout), ['from the tarball']);

  // the type declarations: a TypeScript consumer type-checks against nimbus/client and nimbus
  writeFileSync(
    join(consumer, 'typed.ts'),
    `import { NetConnection } from 'nimbus/client';
import { Nimbus, createLogger, loadConfig } from 'nimbus';
export async function echo(url: string): Promise<unknown[]> {
  const nc: NetConnection = await NetConnection.connect(url);
  return nc.call('echo', 1);
}
export const make = (): Nimbus => new Nimbus({ config: loadConfig([]).config, logger: createLogger({ level: 'fatal', pretty: 'false' }) });
`,
  );
  const tsc = join(repository, 'node_modules', 'typescript', 'bin', 'tsc');
  const typeRoots = join(repository, 'node_modules', '@types');
  await run(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--typeRoots',
      typeRoots,
      '--types',
      'node',
      'typed.ts',
    ],
    { cwd: consumer },
  ).catch((error: { stdout?: string }) => assert.fail(`type check failed: ${error.stdout ?? String(error)}`));

  assert.equal(await server.stop(), 0, 'the bin stops cleanly on SIGTERM');
});
