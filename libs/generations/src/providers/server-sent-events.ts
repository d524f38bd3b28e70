/**
 * The `data` of each event in a `text/event-stream` body, fed as bytes arrive (the WHATWG
 * parsing rules that a Chat Completions stream uses: lines end with CR, LF or CRLF; `data:`
 * lines of one event join with LF; a blank line ends the event; comments and other fields are
 * skipped).
 */
export class ServerSentEvents {
  private readonly decoder = new TextDecoder();
  private pending = '';
  private data: string[] = [];

  /** The events completed by `bytes`. */
  push(bytes: Uint8Array): string[] {
    return this.lines(this.pending + this.decoder.decode(bytes, { stream: true }));
  }

  /** The last event, when the body ended without its blank line. */
  end(): string[] {
    const events = this.lines(`${this.pending + this.decoder.decode()}\n\n`);
    this.pending = '';
    return events;
  }

  private lines(received: string): string[] {
    const events: string[] = [];
    // a CR at the very end may be the first half of a CRLF: its line waits for the next bytes
    const held = received.endsWith('\r') ? '\r' : '';
    const lines = (held ? received.slice(0, -1) : received).split(/\r\n|\r|\n/);
    // the last piece is an unfinished line ('' right after a line end)
    this.pending = (lines.pop() ?? '') + held;
    for (const line of lines) {
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
    return events;
  }
}
