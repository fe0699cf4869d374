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

test("the client's first packet echoes the RIKeying's timestamp: the server answers the connect with a measured RTO", async () => {
  const server = await startTestServer();
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/live`);
    try {
      const [session] = [...server.server.rtmfp.sessions.values()];
      assert.ok(session);
      // the answer's retransmission tick was armed with the measured RTO (≥ 250 ms), not the initial 3 s
      const answer = session.writer(1);
      assert.ok(answer, 'the NetConnection answer writer');
      const due = answer.nextTickAt - session.clock.now();
      assert.ok(due > 0 && due < 1_000, `answer tick due in ${due} ms`);
    } finally {
      await nc.close();
    }
  } finally {
    await server.close();
  }
});
