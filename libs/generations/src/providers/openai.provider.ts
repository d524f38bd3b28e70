import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import {
  FinalProviderError,
  GenAiProvider,
  GenerationOutput,
  GenerationRequest,
  RetryableProviderError,
} from './genai-provider';
import { estimateTokens } from './token-estimate';

interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/**
 * Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, LM Studio). One call
 * may take OPENAI_TIMEOUT_MS (folded into the attempt's deadline); timeouts, 429, 5xx and
 * network failures are retryable, other 4xx final; what the provider said goes to the logs, the
 * record says what happened. Every request names a model and max_tokens (GENAI_MODELS and
 * GENAI_DEFAULT_MAX_TOKENS decide them). The API key is sent, never logged.
 */
@Injectable()
export class OpenAiProvider extends GenAiProvider {
  readonly name = 'openai';
  override readonly callTimeoutMs: number;

  constructor(private readonly config: AppConfig) {
    super();
    this.callTimeoutMs = config.genai.openai.timeoutMs;
  }

  async generate(request: GenerationRequest, signal: AbortSignal): Promise<GenerationOutput> {
    const { baseUrl, apiKey } = this.config.genai.openai;
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
        signal,
      });
    } catch (error) {
      // The attempt's deadline passed: the worker reports it as a timeout.
      if (signal.aborted) throw signal.reason;
      throw new RetryableProviderError('unreachable', (error as Error).message);
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      throw new RetryableProviderError(`answered HTTP ${response.status}`);
    }
    if (!response.ok) {
      const detail = await response.text().catch(() => '');
      throw new FinalProviderError(
        `rejected the request (HTTP ${response.status})`,
        detail.slice(0, 500),
      );
    }
    const body = parseCompletion(await this.readBody(response, signal));
    const text = body.choices?.[0]?.message?.content;
    if (typeof text !== 'string') throw new FinalProviderError('answered without a completion');
    // A server that reports no usage: the prompt is estimated when stored, the text here.
    return {
      text,
      promptTokens: body.usage?.prompt_tokens ?? null,
      completionTokens: body.usage?.completion_tokens ?? estimateTokens(text),
    };
  }

  /** The body, read under the attempt's deadline; a connection lost while reading is retryable. */
  private async readBody(response: Response, signal: AbortSignal): Promise<string> {
    try {
      return await response.text();
    } catch {
      if (signal.aborted) throw signal.reason;
      throw new RetryableProviderError('connection lost while reading its answer');
    }
  }
}

function parseCompletion(text: string): ChatCompletion {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as ChatCompletion) : {};
  } catch {
    return {};
  }
}
