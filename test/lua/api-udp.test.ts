// The rest of the Lua API end to end: the real server on UDP loopback runs test/fixtures/api-udp
// (copied to a temporary folder, so that `data` never lands in the repository) and the TypeScript
// client asserts what each Lua call returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/index.ts';
import { TypedObject, type AMFObject, type AMFValue } from '../../src/flash/amf/types.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/api-udp/', import.meta.url));

interface App {
  dir: string;
  www: string;
  server: TestServer;
  connect(path?: string): Promise<NetConnection>;
  restart(): Promise<void>;
}

/** A scratch copy of the fixture served by a real server; everything is removed afterwards. */
async function withApp(args: string[], body: (app: App) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-api-udp-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const connections: NetConnection[] = [];
  const app: App = {
    dir,
    www: join(dir, 'www'),
    server: await startTestServer({ dir, args }),
    async connect(path = '') {
      const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${app.server.port}/${path}`);
      connections.push(nc);
      return nc;
    },
    async restart() {
      await closeAll();
      await app.server.close();
      app.server = await startTestServer({ dir, args });
    },
  };
  const closeAll = async (): Promise<void> => {
    for (const nc of connections.splice(0)) if (nc.connected) await nc.close();
  };
  try {
    await body(app);
  } finally {
    await closeAll();
    await app.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asks `name` again until `ready` accepts its first result (a generous deadline, not a timing assertion). */
async function poll(nc: NetConnection, name: string, ready: (value: AMFObject) => boolean): Promise<AMFObject> {
  for (let i = 0; i < 1000; i++) {
    const [value] = await nc.call(name);
    const o = (value ?? {}) as AMFObject;
    if (ready(o)) return o;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${name}: results never completed`);
}

const DATE = new Date(Date.UTC(2020, 1, 2, 3, 4, 5));
const BYTES = new Uint8Array([0, 1, 255]);
const SAMPLE: AMFValue[] = ['text', 1.5, 3, true, null, { a: 1 }, ['x', 'y'], DATE, BYTES, new TypedObject('Cat', { name: 'Tom' })];

/** The values of SAMPLE as they come back from Lua. */
function assertSample(values: AMFValue[]): void {
  assert.equal(values.length, SAMPLE.length);
  assert.deepEqual(values.slice(0, 7), SAMPLE.slice(0, 7));
  assert.ok(values[7] instanceof Date);
  assert.equal(values[7].getTime(), DATE.getTime());
  assert.deepEqual(values[8], BYTES);
  const typed = values[9];
  assert.ok(typed instanceof TypedObject);
  assert.equal(typed.className, 'Cat');
  assert.deepEqual(typed.properties, { name: 'Tom' });
}

test('JSON, query and XML-RPC serializers under both global names, read back in Lua', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();

    const [json, jsonSame, ...jsonBack] = await nc.call('json', ...SAMPLE);
    assert.equal(
      json,
      '["text",1.5,3,true,null,{"a":1},["x","y"],"2020-02-02T03:04:05.000Z",{"__raw":"AAH/"},{"__type":"Cat","name":"Tom"}]',
    );
    assert.equal(jsonSame, true);
    assertSample(jsonBack);
    // members holding null vanish in Lua; a malformed text gives nothing
    // {"b":null} is an empty table in Lua, which goes back as an empty Array (as both servers)
    assert.deepEqual(await nc.call('fromJSON', '{"a":[1,2,{"b":null}],"s":"x"}'), [{ a: [1, 2, []], s: 'x' }]);
    assert.deepEqual(await nc.call('fromJSON', '{bad'), []);

    const [query, querySame, ...queryBack] = await nc.call('urlQuery', { name: 'Tom Cat' }, 'item', true, 7, null, DATE);
    assert.equal(query, 'name=Tom%20Cat&item&true&7&null&2020-02-02T03%3A04%3A05.000Z');
    assert.equal(querySame, true);
    assert.deepEqual(queryBack, [{ name: 'Tom Cat' }, 'item', true, 7, null, DATE]);
    assert.deepEqual(await nc.call('fromQuery', 'a=1&b=true&c=null&d=2020-01-02T03:04:05Z&item&e=x%20y+z'), [
      { a: 1, b: true, d: new Date(Date.UTC(2020, 0, 2, 3, 4, 5)) },
      'item',
      { e: 'x y z' },
    ]);

    const [xmlrpc, xmlrpcSame, ...xmlrpcBack] = await nc.call('xmlrpc', ...SAMPLE);
    assert.equal(
      xmlrpc,
      '<?xml version="1.0"?><methodResponse><params>' +
        '<param><value><string>text</string></value></param><param><value><double>1.5</double></value></param>' +
        '<param><value><int>3</int></value></param><param><value><boolean>1</boolean></value></param>' +
        '<param><value></value></param>' +
        '<param><value><struct><member><name>a</name><value><int>1</int></value></member></struct></value></param>' +
        '<param><value><array size="2"><data><value><string>x</string></value><value><string>y</string></value></data></array></value></param>' +
        '<param><value><dateTime.iso8601>2020-02-02T03:04:05.000Z</dateTime.iso8601></value></param>' +
        '<param><value><base64>AAH/</base64></value></param>' +
        '<param><value><struct type="Cat"><member><name>name</name><value><string>Tom</string></value></member></struct></value></param>' +
        '</params></methodResponse>',
    );
    assert.equal(xmlrpcSame, true);
    assertSample(xmlrpcBack);
    const call =
      '<?xml version="1.0"?><methodCall><methodName>sum</methodName><params>' +
      '<param><value><i4>4</i4></value></param><param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>' +
      '<param><value>bare</value></param></params></methodCall>';
    assert.deepEqual(await nc.call('fromXMLRPC', call), ['sum', 4, new Date(Date.UTC(1998, 6, 17, 14, 8, 55)), 'bare']);
    assert.deepEqual(await nc.call('fromXMLRPC', '<other/>'), []);
  });
});

test('XML: the Lua document form, __value, child by name, written back; errors through the handler', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();
    const [seen, written, built, errors] = await nc.call(
      'xml',
      '<?xml version="1.0"?><list kind="fruits"><item>apple</item><item>pear</item>tail text</list>',
    );
    assert.deepEqual(seen, {
      declaration: '1.0',
      rootName: 'list',
      rootByName: true,
      attribute: 'fruits',
      children: 3,
      firstChild: 'item',
      childByName: true,
      value: 'apple',
      tail: 'tail text',
    });
    assert.equal(written, '<?xml version="1.0" ?><list kind="fruits" ><item >changed</item><item >pear</item>tail text</list>');
    assert.equal(built, '<built id="7" ><leaf />text &amp; more</built>');
    const e = errors as AMFObject;
    assert.match(String(e.toXML), /without name/);
    assert.match(String(e.fromXML), /malformed XML/);
    assert.equal(e.silent, 0);
  });
});

test('listPaths / files: every File property, never outside www, read-only', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();
    const [entries, same, outside, renamed, renameFailed] = await nc.call('files', 'static');
    const hello = join(app.www, 'static', 'hello.txt');
    const nested = join(app.www, 'static', 'nested');
    assert.deepEqual(entries, [
      {
        name: 'hello.txt',
        baseName: 'hello',
        parent: join(app.www, 'static') + '/',
        extension: 'txt',
        size: statSync(hello).size,
        lastModified: Math.floor(statSync(hello).mtimeMs / 1000),
        isFolder: false,
        isDirectory: false,
        value: hello,
        fullPath: hello,
        text: hello,
      },
      {
        name: 'nested',
        baseName: 'nested',
        parent: join(app.www, 'static') + '/',
        extension: '',
        size: 0,
        lastModified: Math.floor(statSync(nested).mtimeMs / 1000),
        isFolder: true,
        isDirectory: true,
        value: nested + '/',
        fullPath: nested + '/',
        text: nested + '/',
      },
    ]);
    assert.deepEqual([same, outside, renamed, renameFailed], [true, 0, false, true]);
    const [root] = await nc.call('files', '/');
    assert.deepEqual(
      (root as AMFObject[]).map((f) => [f.name, f.isFolder, f.size]),
      [
        ['main.lua', false, statSync(join(app.www, 'main.lua')).size],
        ['static', true, 0],
        ['sub', true, 0],
      ],
    );
  });
});

const FALSE_IP = {
  isWildcard: false,
  isBroadcast: false,
  isAnyBroadcast: false,
  isLoopback: false,
  isMulticast: false,
  isUnicast: false,
  isLinkLocal: false,
  isSiteLocal: false,
  isIPv4Compatible: false,
  isIPv4Mapped: false,
  isWellKnownMC: false,
  isNodeLocalMC: false,
  isLinkLocalMC: false,
  isSiteLocalMC: false,
  isOrgLocalMC: false,
  isGlobalMC: false,
  isLocal: false,
  isIPv6: false,
};
const LOOPBACK_V4 = {
  ...FALSE_IP,
  value: '127.0.0.1',
  text: '127.0.0.1',
  isLoopback: true,
  isUnicast: true,
  isIPv4Compatible: true,
  isIPv4Mapped: true,
  isLocal: true,
};

test('IPAddress and SocketAddress: every property, both factories, errors, DNS in a coroutine and by callback', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();
    assert.deepEqual(await nc.call('ip', '127.0.0.1'), [LOOPBACK_V4, LOOPBACK_V4]);
    const linkLocalMC = {
      ...FALSE_IP,
      value: 'ff02::1',
      text: 'ff02::1',
      isMulticast: true,
      isWellKnownMC: true,
      isLinkLocalMC: true,
      isIPv6: true,
    };
    assert.deepEqual(await nc.call('ip', 'FF02::1'), [linkLocalMC, linkLocalMC]);
    const [site] = (await nc.call('ip', '192.168.1.20')) as AMFObject[];
    assert.deepEqual([site!.isSiteLocal, site!.isUnicast, site!.isLoopback], [true, true, false]);
    const [broadcast] = (await nc.call('ip', '255.255.255.255')) as AMFObject[];
    assert.deepEqual([broadcast!.isBroadcast, broadcast!.isAnyBroadcast, broadcast!.isUnicast], [true, true, false]);
    const [wildcard] = (await nc.call('ip', '::')) as AMFObject[];
    assert.deepEqual([wildcard!.isWildcard, wildcard!.isIPv6, wildcard!.isLocal], [true, true, true]);
    const [mapped] = (await nc.call('ip', '::ffff:10.1.2.3')) as AMFObject[];
    assert.deepEqual([mapped!.isIPv4Mapped, mapped!.isIPv4Compatible], [true, false]);
    const [orgMC] = (await nc.call('ip', '239.192.0.1')) as AMFObject[];
    assert.deepEqual([orgMC!.isOrgLocalMC, orgMC!.isGlobalMC, orgMC!.isMulticast], [true, false, true]);
    const [globalMC] = (await nc.call('ip', '224.0.1.1')) as AMFObject[];
    assert.deepEqual([globalMC!.isGlobalMC, globalMC!.isWellKnownMC, globalMC!.isLinkLocalMC], [true, true, false]);
    const [linkLocal] = (await nc.call('ip', '169.254.3.4')) as AMFObject[];
    assert.equal(linkLocal!.isLinkLocal, true);

    assert.deepEqual(await nc.call('socketAddress', '127.0.0.1:1935'), [
      { value: '127.0.0.1:1935', text: '127.0.0.1:1935', port: 1935, isIPv6: false, host: LOOPBACK_V4 },
    ]);
    const [v6] = (await nc.call('socketAddress', '::1', 80)) as AMFObject[];
    assert.deepEqual(
      [v6!.value, v6!.text, v6!.port, v6!.isIPv6, (v6!.host as AMFObject).isLoopback],
      ['[::1]:80', '[::1]:80', 80, true, true],
    );
    const [bracketed] = (await nc.call('socketAddress', '[::1]:81')) as AMFObject[];
    assert.equal(bracketed!.value, '[::1]:81');
    const [portText] = (await nc.call('socketAddress', '10.0.0.2', '8080')) as AMFObject[];
    assert.equal(portText!.value, '10.0.0.2:8080');

    assert.deepEqual(await nc.call('addressErrors'), [
      true,
      ['Invalid IPAddress not an address', 'Invalid SocketAddress 127.0.0.1:99999'],
      false, // error() as handler raises
      true,
      false, // a name without a coroutine or a callback would block: an error
      '10.0.0.1:80',
      '0.0.0.0:1935',
      '0.0.0.0',
    ]);

    assert.deepEqual(await nc.call('dns', 'localhost', 1935), ['pending']);
    const dns = await poll(nc, 'dnsResults', (o) => o.coSocket !== undefined && o.callback !== undefined);
    const coIP = dns.coIP as AMFObject;
    assert.equal(coIP.isLoopback, true, JSON.stringify(dns));
    assert.equal(dns.coError, undefined);
    for (const s of [dns.coSocket, dns.callback] as AMFObject[]) {
      assert.equal(s.port, 1935);
      assert.equal((s.host as AMFObject).isLoopback, true);
      assert.match(String(s.value), /^(127\.0\.0\.1|\[::1\]):1935$/);
    }
  });
});

test('data: written through, numbers as strings, nil deletes, #, pairs, a child application, kept across a restart', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();
    assert.deepEqual(await nc.call('data'), [
      {
        number: '10',
        numberType: 'string',
        sum: '15',
        flag: false,
        nested: '3',
        nestedByIndex: '3',
        listLength: 3,
        listItem: 'y',
        listItemByText: 'z',
        treePairs: 'a=one,b=table',
        overwriteKept: 'table', // a subtree is deleted with nil before anything replaces it
        treeDeleted: true,
        lengthDrop: 1,
        count: 1,
        childStarted: true,
        childReadsParent: 'from root',
        childOwn: 'set by root',
        childIsThis: true,
        childrenTable: true,
      },
    ]);
    assert.deepEqual(await nc.call('dataWrite', 'pi', 3.25), ['3.25']);
    assert.deepEqual(await nc.call('dataWrite', 'yes', true), [true]);
    assert.deepEqual(await nc.call('dataWrite', 'name', 'Tom'), ['Tom']);
    assert.deepEqual(await nc.call('dataWrite', 'gone', 'soon'), ['soon']);
    assert.deepEqual(await nc.call('dataWrite', 'gone', null), [null]);

    // the child application, connected to directly: its data is data.sub of the root
    const child = await app.connect('sub');
    assert.deepEqual(await child.call('childData', 'color', 'blue'), ['blue', 'blue', 'from root', 'sub', '/sub']);

    await app.restart();
    const again = await app.connect();
    assert.deepEqual(await again.call('dataRead', 'pi'), ['3.25']);
    assert.deepEqual(await again.call('dataRead', 'yes'), [true]);
    assert.deepEqual(await again.call('dataRead', 'gone'), [null]);
    assert.deepEqual(await again.call('dataPairs'), [['name=Tom', 'number=15', 'pi=3.25', 'shared=from root', 'sub=table', 'yes=true'], 5]);
    const childAgain = await app.connect('sub');
    assert.deepEqual(await childAgain.call('childData', 'size', 2), ['2', '2', 'from root', 'sub', '/sub']);
    assert.deepEqual(await childAgain.call('childData', 'color', 'red'), ['red', 'red', 'from root', 'sub', '/sub']);
  });
});

test('sockets on 127.0.0.1: TCP servers and clients in both dialects, a UDP echo, a refused connection', async () => {
  await withApp([], async (app) => {
    const nc = await app.connect();
    assert.deepEqual(await nc.call('socketsStart'), [true, true, true, true]);
    assert.deepEqual(await nc.call('udpBoundAddress', 40000), ['127.0.0.1:40000', null], 'bound, read at once; closed');
    assert.deepEqual(await nc.call('udpBoundAddress', 0), [null, null], 'port 0: known once the bind completes');
    for (let i = 0; i < 1000 && !(await nc.call('socketsReady'))[0]; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await nc.call('tcpBusy'), [false, false], 'TCPServer:start on a port in use');
    const [errC, errM, errU, badPort, udpAddress, tcpPort] = await nc.call('socketsGo');
    assert.deepEqual([errC, errM, errU], [null, null, null]);
    assert.match(String(badPort), /invalid address/);
    assert.match(String(udpAddress), /^127\.0\.0\.1:\d+$/);
    assert.ok((tcpPort as number) > 0);
    const s = await poll(
      nc,
      'socketsResults',
      (o) =>
        o.cumulusReply === 'C:hello\nC:world\n' && o.monaReply === 'M:ping' && o.udpReply === 'U:datagram' && o.refusedError !== undefined,
    );
    assert.equal(s.monaPeer, true);
    assert.equal(s.monaConnected, true);
    assert.match(String(s.monaAddress), /^127\.0\.0\.1:\d+$/);
    assert.match(String(s.monaPeerAddress), /^127\.0\.0\.1:\d+$/);
    assert.equal(s.udpReplyFrom, udpAddress);
    assert.equal(s.udpPeerAddress, udpAddress);
    assert.match(String(s.udpFrom), /^127\.0\.0\.1:\d+$/);
    assert.match(String(s.refusedError), /ECONNREFUSED/);
    assert.deepEqual(await nc.call('udpStranger'), ['a connected socket sends to its peer only']);
    const heard = await poll(nc, 'socketsResults', (o) => String(o.udpReply).endsWith('U:again'));
    assert.equal(heard.udpReply, 'U:datagramU:again', "the stranger's datagram never reached the connected socket");
    assert.match(String(heard.udpConnectedAddress), /^127\.0\.0\.1:\d+$/, 'a connected socket has its own address');
    assert.deepEqual(await nc.call('udpDisconnect'), [null], 'no peer any more; the send to an address went out');
    await poll(nc, 'socketsResults', (o) => String(o.udpReply).endsWith('U:free'));

    assert.deepEqual(await nc.call('socketsStop'), [false, false, null]);
    const closed = await poll(nc, 'socketsResults', (o) => o.monaClosed === true && o.cumulusClosed === true);
    assert.equal(closed.monaConnectedAfter, false);
  });
});

test('sendMail (mona and cumulus) through the [smtp] server of the configuration: delivered, refused, no recipient', async () => {
  const mails: Array<{ from: string; to: string[]; text: string }> = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('nobody')) cb(new Error('no such user'));
      else cb();
    },
    onData(stream, session, cb) {
      let text = '';
      stream.on('data', (d: Buffer) => (text += d.toString()));
      stream.on('end', () => {
        const envelope = session.envelope;
        mails.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          text,
        });
        cb();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const port = (smtp.server.address() as AddressInfo).port;
  try {
    await withApp([`--smtp.host=127.0.0.1`, `--smtp.port=${port}`, '--smtp.timeout=5'], async (app) => {
      const nc = await app.connect();
      assert.deepEqual(await nc.call('mail', 'you@example.com', 'nobody@example.com'), [String(port)]);
      const results = await poll(nc, 'mailResults', (o) => o.mona !== undefined && o.cumulus !== undefined && o.none !== undefined);
      assert.equal(results.mona, 'ok');
      assert.match(String(results.cumulus), /recipient refused: nobody@example\.com/);
      assert.equal(results.none, 'no recipient');
      assert.equal(mails.length, 2);
      const bySubject = (subject: string) => mails.find((m) => m.text.includes(`Subject: ${subject}`));
      const mona = bySubject('From Mona');
      const cumulus = bySubject('From Cumulus');
      assert.ok(mona && cumulus);
      assert.deepEqual([mona.from, mona.to], ['nimbus@example.com', ['you@example.com']]);
      assert.match(mona.text, /Mona body/);
      assert.deepEqual([cumulus.from, cumulus.to], ['nimbus@example.com', ['you@example.com']]);
      assert.match(cumulus.text, /Cumulus body/);
    });
  } finally {
    await new Promise<void>((r) => smtp.close(() => r()));
  }
});
