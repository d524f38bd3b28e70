import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeltaListener,
  GenAiProvider,
  GenerationOutput,
  GenerationRequest,
} from './genai-provider';
import { estimateTokens } from './token-estimate';

/** The built-in development provider's model name: says what it is wherever it shows. */
export const LOCAL_MODEL = 'local-dev-echo';

const WORDS = [
  'rocket',
  'launch',
  'orbit',
  'thrust',
  'payload',
  'stage',
  'booster',
  'fuel',
  'apogee',
  'telemetry',
];

/**
 * The default provider, for development and tests: no network, output derived from the prompt
 * alone (same prompt, same text), streamed in a few chunks with an optional delay spread across
 * them (LOCAL_PROVIDER_DELAY_MS) to watch progress, streams, cancels, shutdown and recovery. Not
 * a model.
 */
@Injectable()
export class LocalProvider extends GenAiProvider {
  readonly name = 'local';

  constructor(private readonly config: AppConfig) {
    super();
  }

  async generate(
    request: GenerationRequest,
    signal: AbortSignal,
    onDelta: DeltaListener = () => undefined,
  ): Promise<GenerationOutput> {
    const digest = createHash('sha256').update(request.prompt).digest();
    const length = Math.min(request.maxTokens ?? 16, 16);
    const words = Array.from(
      { length },
      (_, index) => WORDS[digest[index % digest.length] % WORDS.length],
    );
    const text = `[${LOCAL_MODEL}] ${words.join(' ')}`;
    // several chunks, LOCAL_PROVIDER_DELAY_MS spread across them
    const chunks = chunksOf(text, CHUNKS);
    const pause = this.config.genai.localDelayMs / chunks.length;
    for (const chunk of chunks) {
      if (pause > 0) await sleep(pause, undefined, { signal });
      signal.throwIfAborted();
      onDelta(chunk);
    }
    return {
      text,
      promptTokens: estimateTokens(request.prompt),
      completionTokens: estimateTokens(text),
    };
  }
}

/** How many chunks the local provider streams its text in. */
const CHUNKS = 4;

/** `text` cut at word boundaries into at most `count` chunks that join back to it. */
export function chunksOf(text: string, count: number): string[] {
  const words = text.split(/(?<=\s)/);
  const size = Math.ceil(words.length / count);
  const chunks: string[] = [];
  for (let index = 0; index < words.length; index += size)
    chunks.push(words.slice(index, index + size).join(''));
  return chunks;
}
