// Starts a real Nimbus server on an ephemeral loopback UDP port for a test.
import { Nimbus } from '../../src/nimbus.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { acceptAll, type ApplicationPort } from '../../src/core/ports.ts';
import { freeTcpPort } from './rtmp-client.ts';

export interface TestServer {
  server: Nimbus;
  port: number;
  /** the RTMP port when the test asked for RTMP (`rtmp: true`), else 0 */
  rtmpPort: number;
  /** the HTTP (and WebSocket) port when the test asked for HTTP (`http: true`), else 0 */
  httpPort: number;
  close(): Promise<void>;
}

/**
 * Without `application` or `dir`, every connection is accepted (no Lua); `dir` serves `<dir>/www` with Lua.
 * RTMP is off unless `rtmp` is set, HTTP unless `http` is: then a free TCP port is picked (port 0 means disabled, never ephemeral).
 */
export async function startTestServer(
  options: {
    application?: ApplicationPort;
    args?: string[];
    dir?: string;
    rtmp?: boolean;
    http?: boolean;
    /** adjusts the server between construction and start (test timings) */
    beforeStart?: (server: Nimbus) => void;
  } = {},
): Promise<TestServer> {
  const dirArgs = options.dir ? [`--application.dir=${options.dir}`] : [];
  if (options.rtmp) dirArgs.push(`--RTMP.port=${await freeTcpPort()}`, '--RTMP.host=127.0.0.1');
  if (options.http) dirArgs.push(`--HTTP.port=${await freeTcpPort()}`, '--HTTP.host=127.0.0.1');
  const { config } = loadConfig(
    ['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0', ...dirArgs, ...(options.args ?? [])],
    {
      cwd: process.cwd(),
      env: {},
    },
  );
  const logger = createLogger({ level: process.env.NIMBUS_TEST_LOG ?? 'fatal', pretty: 'false' });
  const application = options.application ?? (options.dir ? undefined : acceptAll);
  const server = new Nimbus({ config, logger, application });
  options.beforeStart?.(server);
  await server.start();
  return {
    server,
    port: server.rtmfp.address.port,
    rtmpPort: server.rtmp?.address.port ?? 0,
    httpPort: server.http?.address.port ?? 0,
    close: () => server.close(),
  };
}
