import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import {
  FinalProviderError,
  GenAiProvider,
  GenerationOutput,
  GenerationRequest,
  RetryableProviderError,
} from './genai-provider';

interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/**
 * Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, LM Studio). Each call is
 * bounded by OPENAI_TIMEOUT_MS; timeouts, 429, 5xx and network failures are retryable, other
 * 4xx final. The API key is sent, never logged.
 */
@Injectable()
export class OpenAiProvider extends GenAiProvider {
  readonly name = 'openai';

  constructor(private readonly config: AppConfig) {
    super();
  }

  get defaultModel(): string {
    return this.config.genai.openai.model;
  }

  async generate(request: GenerationRequest, signal: AbortSignal): Promise<GenerationOutput> {
    const { baseUrl, apiKey, timeoutMs } = this.config.genai.openai;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: request.model,
          messages: [{ role: 'user', content: request.prompt }],
          ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        }),
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      if (timeout.aborted)
        throw new RetryableProviderError(`provider did not answer within ${timeoutMs} ms`);
      throw new RetryableProviderError(`provider unreachable: ${(error as Error).message}`);
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      throw new RetryableProviderError(`provider answered ${response.status}`);
    }
    if (!response.ok) {
      const detail = await response.text().catch(() => '');
      throw new FinalProviderError(
        `provider rejected the request (${response.status}): ${detail.slice(0, 200)}`,
      );
    }
    const body = (await response.json().catch(() => ({}))) as ChatCompletion;
    const text = body.choices?.[0]?.message?.content;
    if (typeof text !== 'string')
      throw new FinalProviderError('provider answered without a completion');
    return {
      text,
      promptTokens: body.usage?.prompt_tokens ?? 0,
      completionTokens: body.usage?.completion_tokens ?? 0,
    };
  }
}
