import { AppConfig } from '@app/config';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Generation } from './generation.entity';
import { GenerationQueue } from './generation-queue';
import { GenerationsService } from './generations.service';
import { GenAiProvider } from './providers/genai-provider';
import { LocalProvider } from './providers/local.provider';
import { OpenAiProvider } from './providers/openai.provider';
import { GenerationWorker } from './worker/generation.worker';

/** GENAI_PROVIDER picks the provider: `local` (built in, the default) or `openai`. */
const PROVIDER: Provider = {
  provide: GenAiProvider,
  inject: [AppConfig],
  useFactory: (config: AppConfig) =>
    config.genai.provider === 'openai' ? new OpenAiProvider(config) : new LocalProvider(config),
};

/** The generations domain: the api creates and reads them, the worker runs them. */
@Module({})
export class GenerationsModule {
  static forApi(): DynamicModule {
    return {
      module: GenerationsModule,
      imports: [TypeOrmModule.forFeature([Generation])],
      providers: [PROVIDER, GenerationQueue, GenerationsService],
      exports: [GenerationsService],
    };
  }

  static forWorker(): DynamicModule {
    return {
      module: GenerationsModule,
      imports: [TypeOrmModule.forFeature([Generation])],
      providers: [PROVIDER, GenerationWorker],
      exports: [GenerationWorker],
    };
  }
}
