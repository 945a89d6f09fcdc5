// Sends fuzz requests over real HTTP: a keep-alive agent for well-formed requests (an event
// stream is read up to its status line and closed), a raw socket for a Content-Length that
// does not match the body. Returns the status, or 0 when the server closed without answering.
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import type { FuzzRequest } from './fuzz-requests.ts';

/** body: the first 4 KiB; truncated when there was more. */
export type FuzzResult = { status: number; contentType: string; body: string; truncated?: boolean };

export class FuzzClient {
  private readonly agent: Agent;

  constructor(private readonly port: number, maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  send(r: FuzzRequest): Promise<FuzzResult> {
    return r.rawContentLength !== undefined ? this.raw(r) : this.http(r);
  }

  close(): void {
    this.agent.destroy();
  }

  private http(r: FuzzRequest): Promise<FuzzResult> {
    return new Promise((resolve, reject) => {
      let req: ReturnType<typeof request>;
      try {
        req = request({ host: '127.0.0.1', port: this.port, method: r.method, path: r.path, headers: r.headers, agent: this.agent, timeout: 30_000 }, (res) => {
          const contentType = String(res.headers['content-type'] ?? '');
          if (contentType.startsWith('text/event-stream')) {
            res.destroy(); // a live stream: its status is the answer
            resolve({ status: res.statusCode ?? 0, contentType, body: '' });
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < 4096) chunks.push(c.subarray(0, 4096 - size));
            size += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8'), truncated: size > 4096 }));
          res.on('error', reject);
        });
      } catch (err) {
        // a header Node's own client refuses to send: not a request at all
        resolve({ status: -1, contentType: '', body: String(err) });
        return;
      }
      req.on('timeout', () => req.destroy(new Error(`no answer in 30 s: ${r.method} ${r.path}`)));
      req.on('error', reject);
      req.end(r.body);
    });
  }

  private raw(r: FuzzRequest): Promise<FuzzResult> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (data += d));
      socket.on('error', () => {}); // reset after the answer: fine
      socket.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
        const head = data.slice(0, data.indexOf('\r\n\r\n'));
        resolve({ status: m ? Number(m[1]) : 0, contentType: /content-type: ([^\r\n]*)/i.exec(head)?.[1] ?? '', body: data.slice(head.length + 4) });
      });
      socket.setTimeout(30_000, () => {
        socket.destroy();
        reject(new Error(`no answer in 30 s: ${r.label}`));
      });
      socket.write(
        `${r.method} ${r.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: ${r.headers['content-type']}\r\n` +
          `Content-Length: ${r.rawContentLength}\r\n\r\n`,
      );
      socket.write(r.body ?? Buffer.alloc(0));
    });
  }
}
