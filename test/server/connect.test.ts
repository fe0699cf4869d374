import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';

for (const style of ['flash', 'rfc7425'] as const) {
  test(`a ${style} client connects, calls and closes over UDP`, async () => {
    const server = await startTestServer();
    try {
      const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/live`, { style });
      assert.equal(nc.connectInfo?.code, 'NetConnection.Connect.Success');
      assert.equal(nc.connectInfo?.objectEncoding, 3);
      assert.equal(server.server.rtmfp.sessions.size, 1);
      const streamId = await nc.createStream();
      assert.equal(streamId, 1);
      await assert.rejects(nc.call('nothingHere', 1, 'two'), (error: unknown) => {
        assert.ok(error instanceof CallError);
        assert.equal(error.status, 'NetConnection.Call.Failed');
        assert.equal(error.code, 'NIMBUS_ERR_CALL');
        assert.equal(error.message, "Method 'nothingHere' not found");
        return true;
      });
      await nc.close();
      for (let i = 0; i < 100 && server.server.rtmfp.sessions.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(server.server.rtmfp.sessions.size, 0);
    } finally {
      await server.close();
    }
  });
}
