// A real redis-server on a free loopback port for a test (Debian's redis-server; .ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './rtmp-client.ts';

export interface TestRedis {
  port: number;
  url: string;
  /** with `tls`: the PEM file of the CA that signed the server's certificate */
  ca?: string;
  /** SIGKILL, as a crash */
  kill(): Promise<void>;
  /** a new redis-server on the same port (empty: the directory must be rebuilt by the nodes) */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Why redis-server cannot run here, or undefined when it can. */
export function redisUnavailable(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error ? 'redis-server is not installed (apt-get install -y redis-server)' : undefined;
}

/**
 * A certificate authority and a server certificate for 127.0.0.1 it signed, made with openssl in a fresh
 * folder (removed when the redis-server closes).
 */
function makeCertificates(): { dir: string; ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-redis-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr || run.error?.message}`);
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Nimbus test CA',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at('server.pem'),
    '-days',
    '2',
    '-extfile',
    at('san.cnf'),
  );
  return { dir, ca: at('ca.pem'), cert: at('server.pem'), key: at('server.key') };
}

/**
 * `password`: Redis asks for AUTH (requirepass), and `url` carries it. `user`: an ACL user with that password
 * and the default user off. `tls`: TLS only (rediss://, server certificate signed by `ca`; no client certificate).
 */
export async function startRedis(options: { password?: string; user?: string; tls?: boolean } = {}): Promise<TestRedis> {
  const port = await freeTcpPort();
  const certificates = options.tls ? makeCertificates() : undefined;
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const auth =
      options.user && options.password
        ? ['--user', options.user, 'on', `>${options.password}`, '~*', '&*', '+@all', '--user', 'default', 'off']
        : options.password
          ? ['--requirepass', options.password]
          : [];
    const listen = certificates
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', certificates.cert, '--tls-key-file', certificates.key]
      : ['--port', String(port)];
    const tls = certificates ? ['--tls-ca-cert-file', certificates.ca, '--tls-auth-clients', 'no'] : [];
    const started = spawn('redis-server', [...listen, ...tls, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start in 5 s')), 5000);
      let output = '';
      started.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
    });
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };
  try {
    await launch();
  } catch (error) {
    if (certificates) rmSync(certificates.dir, { recursive: true, force: true });
    throw error;
  }
  const scheme = certificates ? 'rediss' : 'redis';
  const credentials = options.password ? `${options.user ?? ''}:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${scheme}://${credentials}127.0.0.1:${port}`,
    ca: certificates?.ca,
    kill: () => stop('SIGKILL'),
    restart: async () => {
      await stop('SIGKILL');
      await launch();
    },
    close: async () => {
      await stop('SIGKILL');
      if (certificates) rmSync(certificates.dir, { recursive: true, force: true });
    },
  };
}
