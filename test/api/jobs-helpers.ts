// Helpers of the jobs API tests: parsing a server-sent event stream read through supertest.
import type { Response } from 'supertest';

export type SseEvent = { event: string; data: unknown; id?: string };

/** supertest parser that keeps the raw text of a streamed body. */
export function rawText(res: Response, cb: (err: Error | null, body: string) => void): void {
  // supertest hands the underlying http.IncomingMessage to custom parsers.
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  stream.on('end', () => cb(null, text));
}

/** Splits an event-stream body into events (comments and retry lines skipped). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) events.push({ event, data: JSON.parse(data.join('\n')), ...(id !== undefined ? { id } : {}) });
  }
  return events;
}

export function sseOf(res: Response): SseEvent[] {
  return parseSse(res.body as string);
}
