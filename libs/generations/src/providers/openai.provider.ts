import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import {
  DeltaListener,
  FinalProviderError,
  GenAiProvider,
  GenerationOutput,
  GenerationRequest,
  RetryableProviderError,
} from './genai-provider';
import { ServerSentEvents } from './server-sent-events';
import { estimateTokens } from './token-estimate';

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: Usage;
}

interface ChatCompletionChunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: Usage | null;
  error?: { message?: string };
}

/**
 * Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, LM Studio), streamed:
 * `stream: true` with `stream_options.include_usage`, the text passed on chunk by chunk and the
 * usage taken from the last chunk. A server that refuses the option (a 400/422 that names
 * `stream`) gets the same request once more without streaming, and a server that answers plain
 * JSON anyway is read as a whole. The wait for the next bytes is bounded by OPENAI_TIMEOUT_MS
 * (an idle timeout: a long answer that keeps coming is never cut); timeouts, 429, 5xx, network
 * failures and error chunks are retryable, other 4xx final; what the provider said goes to the
 * logs, the record says what happened. Every request names a model and max_tokens
 * (GENAI_MODELS and GENAI_DEFAULT_MAX_TOKENS decide them). The API key is sent, never logged.
 */
@Injectable()
export class OpenAiProvider extends GenAiProvider {
  readonly name = 'openai';

  constructor(private readonly config: AppConfig) {
    super();
  }

  async generate(
    request: GenerationRequest,
    signal: AbortSignal,
    onDelta: DeltaListener = () => undefined,
  ): Promise<GenerationOutput> {
    const idle = new IdleTimeout(this.config.genai.openai.timeoutMs);
    const callSignal = AbortSignal.any([signal, idle.signal]);
    const failed = (error: unknown, what: string): Error => {
      if (signal.aborted) return signal.reason as Error;
      if (idle.signal.aborted)
        return new RetryableProviderError(
          `sent nothing for ${this.config.genai.openai.timeoutMs} ms`,
        );
      if (error instanceof FinalProviderError || error instanceof RetryableProviderError)
        return error;
      return new RetryableProviderError(what, (error as Error).message);
    };
    try {
      let response = await this.post(request, true, callSignal).catch((error: unknown) => {
        throw failed(error, 'unreachable');
      });
      if (response.status === 400 || response.status === 422) {
        const detail = await response.text().catch(() => '');
        if (!/stream/i.test(detail)) throw rejected(response.status, detail);
        // a server that cannot stream (or does not know `stream_options`): once, as a whole
        idle.touch();
        response = await this.post(request, false, callSignal).catch((error: unknown) => {
          throw failed(error, 'unreachable');
        });
      }
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel().catch(() => undefined);
        throw new RetryableProviderError(`answered HTTP ${response.status}`);
      }
      if (!response.ok) throw rejected(response.status, await response.text().catch(() => ''));
      const streamed = (response.headers.get('content-type') ?? '').includes('text/event-stream');
      return await (
        streamed
          ? this.readStream(response, idle, onDelta)
          : this.readWhole(response, idle, onDelta)
      ).catch((error: unknown) => {
        throw failed(error, 'connection lost while reading its answer');
      });
    } finally {
      idle.stop();
    }
  }

  private post(request: GenerationRequest, stream: boolean, signal: AbortSignal) {
    const { baseUrl, apiKey } = this.config.genai.openai;
    return fetch(`${baseUrl}/chat/completions`, {
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
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
      signal,
    });
  }

  /** The Chat Completions event stream: text deltas, then the usage chunk, then `[DONE]`. */
  private async readStream(
    response: Response,
    idle: IdleTimeout,
    onDelta: DeltaListener,
  ): Promise<GenerationOutput> {
    let text = '';
    let usage: Usage | null | undefined;
    let finished = false;
    const events = new ServerSentEvents();
    const take = (data: string): void => {
      if (data === '[DONE]') {
        finished = true;
        return;
      }
      const chunk = parseJson<ChatCompletionChunk>(data);
      if (chunk.error)
        throw new RetryableProviderError('sent an error in its stream', chunk.error.message);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (typeof delta === 'string' && delta.length > 0) {
        text += delta;
        onDelta(delta);
      }
      if (chunk.usage) usage = chunk.usage;
    };
    for await (const bytes of response.body ?? []) {
      idle.touch();
      for (const data of events.push(bytes as Uint8Array)) take(data);
      if (finished) break;
    }
    for (const data of events.end()) take(data);
    if (!finished && text === '')
      throw new RetryableProviderError('ended its stream without an answer');
    return {
      text,
      promptTokens: usage?.prompt_tokens ?? null,
      completionTokens: usage?.completion_tokens ?? estimateTokens(text),
    };
  }

  /** A plain JSON completion, read under the idle timeout; its text is one delta. */
  private async readWhole(
    response: Response,
    idle: IdleTimeout,
    onDelta: DeltaListener,
  ): Promise<GenerationOutput> {
    const decoder = new TextDecoder();
    let raw = '';
    for await (const bytes of response.body ?? []) {
      idle.touch();
      raw += decoder.decode(bytes as Uint8Array, { stream: true });
    }
    raw += decoder.decode();
    const body = parseJson<ChatCompletion>(raw);
    const text = body.choices?.[0]?.message?.content;
    if (typeof text !== 'string') throw new FinalProviderError('answered without a completion');
    if (text.length > 0) onDelta(text);
    // A server that reports no usage: the prompt is estimated when stored, the text here.
    return {
      text,
      promptTokens: body.usage?.prompt_tokens ?? null,
      completionTokens: body.usage?.completion_tokens ?? estimateTokens(text),
    };
  }
}

function rejected(status: number, detail: string): FinalProviderError {
  return new FinalProviderError(`rejected the request (HTTP ${status})`, detail.slice(0, 500));
}

function parseJson<T extends object>(text: string): Partial<T> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as T) : {};
  } catch {
    return {};
  }
}

/** An AbortSignal that fires when `touch()` has not been called for `ms`. */
class IdleTimeout {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(private readonly ms: number) {
    this.timer = setTimeout(() => this.controller.abort(), ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
