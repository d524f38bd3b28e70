export interface GenerationRequest {
  prompt: string;
  model: string;
  maxTokens?: number;
  temperature?: number;
}

export interface GenerationOutput {
  text: string;
  promptTokens: number;
  completionTokens: number;
}

/** A provider failure worth retrying (timeouts, 429, 5xx, network). */
export class RetryableProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableProviderError';
  }
}

/** A provider failure that another attempt would only repeat (other 4xx, bad responses). */
export class FinalProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FinalProviderError';
  }
}

/** Where generations come from. */
export abstract class GenAiProvider {
  abstract readonly name: string;
  /** The model used when a request names none. */
  abstract readonly defaultModel: string;
  abstract generate(request: GenerationRequest, signal: AbortSignal): Promise<GenerationOutput>;
}
