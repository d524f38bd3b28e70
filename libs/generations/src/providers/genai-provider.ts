export interface GenerationRequest {
  prompt: string;
  model: string;
  maxTokens?: number;
  temperature?: number;
}

export interface GenerationOutput {
  text: string;
  /** Null when the provider reported no usage (the store estimates the prompt). */
  promptTokens: number | null;
  completionTokens: number;
}

/**
 * A provider failure. `message` says what happened in words fit for the record a client reads
 * (`rejected the request (HTTP 400)`); `providerDetail` is what the provider said, for the logs
 * only — it can name models, accounts and limits.
 */
abstract class ProviderError extends Error {
  constructor(
    message: string,
    readonly providerDetail?: string,
  ) {
    super(message);
  }
}

/** A provider failure worth retrying (timeouts, 429, 5xx, network). */
export class RetryableProviderError extends ProviderError {
  override readonly name = 'RetryableProviderError';
}

/** A provider failure that another attempt would only repeat (other 4xx, bad responses). */
export class FinalProviderError extends ProviderError {
  override readonly name = 'FinalProviderError';
}

/** Receives the text as a provider produces it, chunk by chunk (never an empty one). */
export type DeltaListener = (text: string) => void;

/**
 * Where generations come from. `signal` is the attempt's one deadline (JOB_TIMEOUT_MS, a
 * shutdown, a cancel); a provider that waits on a server bounds the wait for its next chunk
 * itself (OPENAI_TIMEOUT_MS: an idle timeout, not a total one, so that a long answer streams).
 * The text goes to `onDelta` as it is produced — a provider that cannot stream gives it whole,
 * once — and whole in the result.
 */
export abstract class GenAiProvider {
  abstract readonly name: string;
  abstract generate(
    request: GenerationRequest,
    signal: AbortSignal,
    onDelta?: DeltaListener,
  ): Promise<GenerationOutput>;
}
