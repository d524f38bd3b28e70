import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GenAiProvider, GenerationOutput, GenerationRequest } from './genai-provider';
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
 * alone (same prompt, same text), with an optional delay (LOCAL_PROVIDER_DELAY_MS) to watch
 * progress, shutdown and recovery. Not a model.
 */
@Injectable()
export class LocalProvider extends GenAiProvider {
  readonly name = 'local';

  constructor(private readonly config: AppConfig) {
    super();
  }

  async generate(request: GenerationRequest, signal: AbortSignal): Promise<GenerationOutput> {
    if (this.config.genai.localDelayMs > 0)
      await sleep(this.config.genai.localDelayMs, undefined, { signal });
    const digest = createHash('sha256').update(request.prompt).digest();
    const length = Math.min(request.maxTokens ?? 16, 16);
    const words = Array.from(
      { length },
      (_, index) => WORDS[digest[index % digest.length] % WORDS.length],
    );
    const text = `[${LOCAL_MODEL}] ${words.join(' ')}`;
    return {
      text,
      promptTokens: estimateTokens(request.prompt),
      completionTokens: estimateTokens(text),
    };
  }
}
