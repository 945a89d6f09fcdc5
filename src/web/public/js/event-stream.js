// Server-sent events read with fetch, so the stream can carry the API key as a header:
// EventSource cannot send headers, and a key in the URL would end up in logs and history.
// Used like EventSource: addEventListener(type, (e) => e.data), close(). Reconnects after the
// server's `retry:` delay when the connection drops (with Last-Event-ID when events carry ids);
// an error answer (404, 403, a cancelled key prompt) ends it with an `error` event.
import { authFetch } from './key-prompt.js';

export class KeyedEventSource extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.retryMs = 2000;
    this.lastEventId = '';
    this.closed = false;
    this.controller = new AbortController();
    this.run();
  }

  close() {
    this.closed = true;
    this.controller.abort();
  }

  async run() {
    while (!this.closed) {
      try {
        const headers = { accept: 'text/event-stream' };
        if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
        const res = await authFetch(this.url, { headers, signal: this.controller.signal });
        if (!res.ok || !res.body) {
          let message = `HTTP ${res.status}`;
          try {
            message = (await res.json()).error.message;
          } catch {
            // not our error shape
          }
          this.dispatchEvent(Object.assign(new Event('error'), { status: res.status, message }));
          return;
        }
        await this.read(res.body);
      } catch (err) {
        if (this.closed || err.name === 'AbortError') return;
      }
      if (!this.closed) await new Promise((r) => setTimeout(r, this.retryMs));
    }
  }

  /** Parses the text/event-stream format: blocks of `field: value` lines, blank-line separated. */
  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.closed) return;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        this.dispatchBlock(block);
        if (this.closed) return;
      }
    }
  }

  dispatchBlock(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue; // comments: heartbeats
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') this.lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (data.length > 0) this.dispatchEvent(new MessageEvent(type, { data: data.join('\n'), lastEventId: this.lastEventId }));
  }
}
