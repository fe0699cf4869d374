// HTTP clients of a Lua application (test/fixtures/http/www/main.lua), checked against MonaServer's documented
// behaviour (MonaServer-behaviour.md §2): onConnection with the query's arguments, every client:onRead return form,
// methods called by GET and by POST bodies (JSON, form, text) and answered in JSON, onDisconnection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { httpRequest } from '../helpers/http-client.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
let server: TestServer;

before(async () => {
  server = await startTestServer({ dir: FIXTURE, http: true });
});

after(async () => {
  await server?.close();
});

const get = (path: string, options = {}) => httpRequest(server.httpPort, path, options);

async function events(): Promise<string[]> {
  return JSON.parse((await get('/events')).text)[0] as string[];
}

test('onConnection gets client.protocol "HTTP", the path, the query and its arguments as MonaServer reads them', async () => {
  const who = await get('/files/whoami?a=1&b=x');
  assert.deepEqual(JSON.parse(who.text), ['HTTP', '/files', 'a=1&b=x']);
  // consecutive pairs merge into one table, a bare token is an argument of its own, values are typed
  assert.deepEqual(JSON.parse((await get('/files/args?a=1&b=x&flag&t=true')).text), [{ a: 1, b: 'x' }, 'flag', { t: true }]);
  assert.deepEqual(JSON.parse((await get('/args?hello&42')).text), ['hello', 42]);
  assert.ok((await events()).includes('onConnection HTTP /files a=1&b=x 1'));
  // client.parameters is the [HTTP] section, client.properties the request's (MonaServer §2.1)
  assert.deepEqual(JSON.parse((await get('/params')).text), ['7', 'true', '1.1']);
});

test('client:onRead return forms: nothing, nil, false, another file, a template, writeRaw, an error', async () => {
  assert.equal((await get('/files/hello.txt')).text, 'hello world\n');
  const refused = await get('/files/secret.txt');
  assert.equal(refused.status, 403);
  assert.match(refused.text, /No authorization to see the content of \/files\/secret\.txt/);
  assert.equal(refused.headers.connection, 'close');
  assert.equal((await get('/files/false.txt')).text, 'the false file\n');
  assert.equal((await get('/files/redirect.txt')).text, 'the target\n');
  // only the last component of the returned name counts: no escape through onRead
  assert.equal((await get('/files/escape.txt')).status, 404);
  const template = await get('/files/template.html');
  assert.equal(template.text, '<p>Hello robert, !</p>\n');
  assert.equal(template.headers.etag, undefined);
  const custom = await get('/files/custom.txt');
  assert.equal(custom.status, 200);
  assert.equal(custom.text, 'hello custom');
  const broken = await get('/files/broken.txt');
  assert.equal(broken.status, 500);
  assert.match(broken.text, /read failure/);
  assert.ok((await events()).some((line) => line.startsWith('onRead hello.txt')));
});

test('a name without extension calls the client method; POST bodies call methods; answers are JSON', async () => {
  assert.deepEqual(JSON.parse((await get('/echo?hello&42')).text), ['hello', 42]);
  const json = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '["echo","hello",42,{"k":true}]' });
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(json.text), ['hello', 42, { k: true }]);
  // no method name first: client:onMessage
  const message = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[42,"x"]' });
  assert.deepEqual(JSON.parse(message.text), ['got', 42, 'x']);
  const object = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"echo":{"a":1}}' });
  assert.deepEqual(JSON.parse(object.text), [{ a: 1 }]);
  const form = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'echo&a=1&b=two' });
  assert.equal(form.text, 'a=1&b=two');
  const text = await get('/', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'plain words' });
  assert.equal(text.text, 'gotplain words');
  // writeMessage during a call joins the answer
  assert.deepEqual(JSON.parse((await get('/push')).text), ['msg', 3, 'ret']);
  const xml = await get('/', {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body:
      '<?xml version="1.0"?><methodCall><methodName>echo</methodName><params>' +
      '<param><value><string>a &amp; b</string></value></param><param><value><int>42</int></value></param>' +
      '<param><value><struct><member><name>k</name><value><boolean>1</boolean></value></member></struct></value></param>' +
      '<param><value><array><data><value>x</value><value><double>1.5</double></value></data></array></value></param>' +
      '</params></methodCall>',
  });
  assert.equal(xml.status, 200);
  assert.equal(xml.headers['content-type'], 'text/xml; charset=utf-8');
  assert.equal(
    xml.text,
    '<?xml version="1.0"?><methodResponse><params><param><value><string>a &amp; b</string></value></param>' +
      '<param><value><int>42</int></value></param><param><value><struct><member><name>k</name><value><boolean>1</boolean></value></member></struct></value></param>' +
      '<param><value><array><data><value><string>x</string></value><value><double>1.5</double></value></data></array></value></param></params></methodResponse>',
  );
  const bomb = await get('/', {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body: '<!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall/>',
  });
  assert.equal(bomb.status, 400);
  const missing = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '["absent"]' });
  assert.equal(missing.status, 503);
  assert.match(missing.text, /Method &#39;absent&#39; not found on application /);
  const failing = await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '["fail"]' });
  assert.equal(failing.status, 500);
  assert.match(failing.text, /script failure/);
  assert.equal((await get('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[1,' })).status, 400);
});

test('writer:close() in a method ends the connection after its answer', async () => {
  const answer = await get('/bye');
  assert.equal(answer.status, 200);
  assert.equal(answer.text, '[]');
  assert.equal(answer.headers.connection, 'close');
});

test('an application that refuses gives 500 with its message; a missing one 503', async () => {
  const refused = await get('/refused/x.txt');
  assert.equal(refused.status, 500);
  assert.match(refused.text, /go away/);
  const missing = await get('/nope/x.txt');
  assert.equal(missing.status, 503);
  assert.match(missing.text, /Application \/nope doesn&#39;t exist/);
});

test('one client per connection and path: another path or the connection closing runs onDisconnection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const count = () => [...server.server.core.clients].filter((client) => client.protocol === 'HTTP').length;
    await get('/files/hello.txt?first', { agent });
    await get('/files/target.txt?first', { agent });
    assert.equal(count(), 1, 'same path and query: the same client');
    await get('/files/hello.txt?second', { agent });
    assert.equal(count(), 1, 'another query: the first client left');
    assert.ok((await events()).includes('onDisconnection HTTP /files'));
  } finally {
    agent.destroy();
  }
  const deadline = Date.now() + 2_000;
  while ([...server.server.core.clients].some((client) => client.protocol === 'HTTP') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(
    [...server.server.core.clients].filter((client) => client.protocol === 'HTTP').length,
    0,
    'closed connections leave no client',
  );
});
