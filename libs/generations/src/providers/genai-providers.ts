import { AppConfig, GenAiProviderName } from '@app/config';
import { Provider } from '@nestjs/common';
import { GenAiProvider } from './genai-provider';
import { LOCAL_MODEL, LocalProvider } from './local.provider';
import { OpenAiProvider } from './openai.provider';

interface ProviderDefinition {
  /** The model a request gets when it names none. */
  defaultModel(config: AppConfig): string;
  create(config: AppConfig): GenAiProvider;
}

/** Every provider GENAI_PROVIDER can name, and what it takes to make one. */
const GENAI_PROVIDERS: Record<GenAiProviderName, ProviderDefinition> = {
  local: { defaultModel: () => LOCAL_MODEL, create: (config) => new LocalProvider(config) },
  openai: {
    defaultModel: (config) => config.genai.openai.model,
    create: (config) => new OpenAiProvider(config),
  },
};

/** The configured provider's default model, without building the provider. */
export function defaultModelOf(config: AppConfig): string {
  return GENAI_PROVIDERS[config.genai.provider].defaultModel(config);
}

/** The models a request may name: GENAI_MODELS, or the provider's default model alone. */
export function allowedModelsOf(config: AppConfig): string[] {
  return config.genai.models.length > 0 ? config.genai.models : [defaultModelOf(config)];
}

/** The configured provider, for the process that runs generations. */
export const GENAI_PROVIDER: Provider = {
  provide: GenAiProvider,
  inject: [AppConfig],
  useFactory: (config: AppConfig) => GENAI_PROVIDERS[config.genai.provider].create(config),
};
