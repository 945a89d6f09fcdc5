// A slow or stalled client cannot hold a socket: against a listening app (real sockets), headers
// sent byte by byte and a body that never completes are answered 408 and closed, an idle
// keep-alive connection is closed, and garbage gets a 400 in the one error shape.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

let t: TestApp;
let port: number;

before(async () => {
  t = await startTestApp('timeouts', {
    HEADERS_TIMEOUT_MS: '400',
    REQUEST_TIMEOUT_MS: '800',
    KEEP_ALIVE_TIMEOUT_MS: '300',
    CONNECTION_TIMEOUT_MS: '2000',
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as { port: number }).port;
});
after(() => t.close());

type Conn = { socket: Socket; received: () => string; closed: Promise<void> };

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => {}); // a reset is one way to be cut off
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes; resolves true when all was sent. */
async function trickle(c: Conn, text: string, everyMs: number): Promise<boolean> {
  let closed = false;
  void c.closed.then(() => (closed = true));
  for (const ch of text) {
    if (closed || c.socket.destroyed) return false;
    c.socket.write(ch);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}

function assertErrorResponse(raw: string, status: number, code: string) {
  assert.match(raw, new RegExp(`^HTTP/1\\.1 ${status} `), raw.slice(0, 200));
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
}

test('headers sent byte by byte: answered 408 and closed before the client is done', async () => {
  const c = await open();
  // ~600 bytes at one byte per 20 ms would take 12 s; the headers timeout is 0.4 s
  const headers = `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(560)}\r\n\r\n`;
  const finished = await trickle(c, headers, 20);
  await c.closed;
  assert.equal(finished, false, 'the server let the slow client finish its headers');
  assertErrorResponse(c.received(), 408, 'request_timeout');
});

test('a body that never completes: answered 408 and closed', async () => {
  const c = await open();
  c.socket.write('POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"pixels":[0,');
  await c.closed; // never ends unless the server cuts it off (the runner's per-test timeout fails it)
  assertErrorResponse(c.received(), 408, 'request_timeout');
});

test('a body trickled slowly: cut off before it is complete', async () => {
  const c = await open();
  const body = JSON.stringify({ pixels: new Array(784).fill(0) });
  c.socket.write(`POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  const finished = await trickle(c, body, 10); // ~1,600 bytes: 16 s; the request timeout is 0.8 s
  await c.closed;
  assert.equal(finished, false);
  assertErrorResponse(c.received(), 408, 'request_timeout');
});

test('a connection that sends nothing is closed', async () => {
  const c = await open();
  await c.closed;
  assert.equal(c.socket.destroyed, true);
});

test('an idle keep-alive connection is closed after its request was answered', async () => {
  const c = await open();
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  await c.closed;
  assert.match(c.received(), /^HTTP\/1\.1 200 /);
  assert.match(c.received(), /keep-alive/i);
});

test('a request that is not HTTP: 400 in the one error shape', async () => {
  const c = await open();
  c.socket.write('HELLO THERE\r\n\r\n');
  await c.closed;
  assertErrorResponse(c.received(), 400, 'bad_request');
});

test('headers over the size limit: 431 in the one error shape', async () => {
  const c = await open();
  c.socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
  await c.closed;
  assertErrorResponse(c.received(), 431, 'headers_too_large');
});
