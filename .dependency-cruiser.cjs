// Layering of Nimbus, checked by dependency-cruiser (`npm run layers`). Floors, bottom up:
//   bottom   src/bytes.ts, src/log.ts, src/clock.ts, src/config.ts, src/errors.ts, src/actors/, machines/
//   flash    src/flash/ (AMF, TC): the bottom floor only
//   core     src/core/ (ports, media, diagnostics): protocol-neutral
//   protocols src/protocols/ and app src/app/ (Lua host), side by side over core, unaware of each other;
//   client   src/client/, inspector src/inspector/
//   root     src/nimbus.ts and src/cli.ts compose the rest, src/index.ts is the package's API over them;
//            nothing else imports these three.
// Type-only imports count like any other (tsPreCompilationDeps), for cycles too.
const BOTTOM = '^(src/(bytes|log|clock|config|errors)[.]ts$|src/actors/|machines/)';
const ROOT = '^src/(nimbus|cli|index)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A file cycle, type-only imports included: split the shared part out or invert one edge.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'bottom-floor-stays-below',
      severity: 'error',
      comment: 'bytes, log, clock, config, errors, actors and machines/ import nothing from the floors above them.',
      from: { path: BOTTOM },
      to: { path: '^(src|machines)/', pathNot: BOTTOM },
    },
    {
      name: 'flash-over-bottom-only',
      severity: 'error',
      comment: 'src/flash (AMF, TC) builds on the bottom floor only.',
      from: { path: '^src/flash/' },
      to: { path: '^(src|machines)/', pathNot: [BOTTOM, '^src/flash/'] },
    },
    {
      name: 'core-is-protocol-neutral',
      severity: 'error',
      comment: 'src/core knows no protocol, no Lua host, no inspector, no client, and not the composition root.',
      from: { path: '^src/core/' },
      to: { path: ['^src/(protocols|app|inspector|client|cluster)/', ROOT] },
    },
    {
      name: 'app-not-protocols',
      severity: 'error',
      comment: 'The Lua host (src/app) reaches clients and sessions through the core ports only.',
      from: { path: '^src/app/' },
      to: { path: '^src/(protocols|inspector|client)/' },
    },
    {
      name: 'protocols-not-app',
      severity: 'error',
      comment: 'Protocols reach the application through the core ports only.',
      from: { path: '^src/protocols/' },
      to: { path: ['^src/(app|inspector)/', ROOT] },
    },
    {
      name: 'cluster-beside-protocols',
      comment: 'Cluster mode (src/cluster) works through core ports: no protocol, Lua host or inspector.',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: { path: ['^src/(protocols|app|inspector|client)/', ROOT] },
    },
    {
      name: 'composition-root-on-top',
      severity: 'error',
      comment: 'src/nimbus.ts and src/cli.ts compose the server, src/index.ts exports it; below them nothing imports them.',
      from: { path: '^src/', pathNot: ROOT },
      to: { path: ROOT },
    },
    {
      name: 'ops-over-bottom-only',
      severity: 'error',
      comment: 'src/ops (log outputs, stop, reload, start-up checks for cli.ts) builds on the bottom floor only.',
      from: { path: '^src/ops/' },
      to: { path: '^(src|machines)/', pathNot: [BOTTOM, '^src/ops/'] },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      comment: 'Shipped code does not import tests, benchmarks or scripts.',
      from: { path: '^(src|machines)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
