// node-media-server 4 (a devDependency) as bench/rtmp.ts runs it beside Nimbus in the same run: RTMP only on
// 127.0.0.1:<port> (argv[2]), no HTTP/admin, its store in a temporary folder (argv[3]); never its bin, which
// rewrites the config file inside node_modules on first start. Its logger prints at debug level on stdout,
// so the parent discards stdout.
import NodeMediaServer from 'node-media-server';

const [port, dataPath] = process.argv.slice(2);
const server = new NodeMediaServer({
  bind: '127.0.0.1',
  notify: { url: '' },
  store: { path: dataPath, maxHistory: 100 },
  auth: { play: false, publish: false, secret: '' },
  rtmp: { port: Number(port) },
  webadmin: { enable: false },
  record: { auto: false, path: dataPath },
});
void server.run();
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
