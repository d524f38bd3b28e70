import { AppConfig } from '@app/config';
import { LocalProvider, chunksOf } from './local.provider';

describe('LocalProvider', () => {
  it('streams its text in several chunks that join back to the whole result', async () => {
    const config = { genai: { localDelayMs: 40 } } as unknown as AppConfig;
    const deltas: string[] = [];
    const output = await new LocalProvider(config).generate(
      { prompt: 'stream me', model: 'local-dev-echo' },
      new AbortController().signal,
      (text) => deltas.push(text),
    );
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.join('')).toBe(output.text);
    expect(deltas.every((delta) => delta.length > 0)).toBe(true);
  });

  it('stops between chunks when its signal aborts', async () => {
    const config = { genai: { localDelayMs: 10_000 } } as unknown as AppConfig;
    const stop = new AbortController();
    const deltas: string[] = [];
    const running = new LocalProvider(config).generate(
      { prompt: 'stop me', model: 'local-dev-echo' },
      stop.signal,
      (text) => deltas.push(text),
    );
    stop.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow();
    expect(deltas).toEqual([]);
  });

  it('cuts text at word boundaries', () => {
    expect(chunksOf('a b c d e', 2)).toEqual(['a b c ', 'd e']);
    expect(chunksOf('one', 4)).toEqual(['one']);
  });
});
