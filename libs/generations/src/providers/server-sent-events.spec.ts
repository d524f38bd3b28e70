import { ServerSentEvents } from './server-sent-events';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('ServerSentEvents', () => {
  it('gives the data of each event, whatever the line ends and however the bytes are cut', () => {
    const body =
      'data: {"a":1}\n\ndata: two\r\ndata: lines\r\n\r\n: a comment\nevent: x\ndata:[DONE]\r\r';
    const whole = new ServerSentEvents();
    expect([...whole.push(encode(body)), ...whole.end()]).toEqual([
      '{"a":1}',
      'two\nlines',
      '[DONE]',
    ]);
    // byte by byte: CRLF split across reads is one line end, not two
    const bytes = new ServerSentEvents();
    const events: string[] = [];
    for (const byte of encode(body)) events.push(...bytes.push(Uint8Array.of(byte)));
    expect([...events, ...bytes.end()]).toEqual(['{"a":1}', 'two\nlines', '[DONE]']);
  });

  it('keeps a multi-byte character cut between reads, and ends an event the body left open', () => {
    const parser = new ServerSentEvents();
    const bytes = encode('data: café ☕');
    expect(parser.push(bytes.slice(0, 9))).toEqual([]);
    expect(parser.push(bytes.slice(9))).toEqual([]);
    expect(parser.end()).toEqual(['café ☕']);
  });
});
