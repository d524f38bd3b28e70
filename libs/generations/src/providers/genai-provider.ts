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

/**
 * Where generations come from. `signal` is the attempt's one deadline: a provider makes no
 * timer of its own, it says how long one call may take (`callTimeoutMs`) and the worker folds
 * that into the attempt's deadline.
 */
export abstract class GenAiProvider {
  abstract readonly name: string;
  readonly callTimeoutMs?: number;
  abstract generate(request: GenerationRequest, signal: AbortSignal): Promise<GenerationOutput>;
}
