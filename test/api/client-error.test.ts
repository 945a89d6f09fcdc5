// The answer to a request Node's parser refuses is written straight to the socket: in the one
// error shape, without a body when the refused request was a HEAD (found by the fuzz test: a client
// reads such a body as data after the response).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { clientErrorHandler } from '../../src/api/http-server-options.ts';

function answer(rawPacket: string): string {
  let written = '';
  const socket = { destroyed: false, writable: true, end: (s: string, cb: () => void) => { written = s; cb(); }, destroy: () => {} };
  const err = Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_HEADER_TOKEN', rawPacket: Buffer.from(rawPacket, 'latin1') });
  clientErrorHandler(err, socket as unknown as Socket);
  return written;
}

test('a malformed GET gets a 400 in the one error shape; a malformed HEAD the same headers and no body', () => {
  const get = answer('GET /v1/models HTTP/1.1\r\nBad Header\r\n\r\n');
  assert.match(get, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.deepEqual(JSON.parse(get.split('\r\n\r\n')[1]!), { error: { code: 'bad_request', message: 'malformed HTTP request' } });
  const head = answer('HEAD /v1/models HTTP/1.1\r\nBad Header\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Connection: close\r\n\r\n$/);
});
