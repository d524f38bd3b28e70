/** One Server-Sent Event as a client parses it (or the `retry:` hint of a closing stream). */
export interface StreamEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

export interface OpenStream {
  status: number;
  headers: Headers;
  /** Every event so far, in order. */
  events: StreamEvent[];
  /** Comment lines (`: keep-alive`) so far. */
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** The body, for a refused stream (problem details). */
  text(): Promise<string>;
  /** Waits until `count` events have arrived. */
  waitForEvents(count: number, timeoutMs?: number): Promise<StreamEvent[]>;
  close(): void;
}

/** Opens `url` with fetch (as a browser page must: EventSource cannot send the key) and parses it. */
export async function openStream(
  url: string,
  headers: Record<string, string>,
): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const events: StreamEvent[] = [];
  const comments: string[] = [];
  const streamed = response.headers.get('content-type')?.startsWith('text/event-stream');
  let body = '';
  const ended = (async () => {
    if (!streamed || !response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const bytes of response.body) {
        body += decoder.decode(bytes as Uint8Array, { stream: true });
        let end: number;
        while ((end = body.indexOf('\n\n')) >= 0) {
          const block = body.slice(0, end);
          body = body.slice(end + 2);
          const event: StreamEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id' || field === 'event' || field === 'retry') event[field] = value;
            if (field === 'data')
              event.data = event.data === undefined ? value : `${event.data}\n${value}`;
          }
          if (Object.keys(event).length > 0) events.push(event);
        }
      }
    } catch {
      // closed by the test
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    ended,
    text: () => response.text(),
    waitForEvents: async (count, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline)
          throw new Error(`${events.length} of ${count} events: ${JSON.stringify(events)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return events;
    },
    close: () => abort.abort(),
  };
}
