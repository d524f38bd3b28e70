import { Generation, GenerationStatus } from './generation.entity';

/** A generation as the API shows it. */
export interface GenerationView {
  id: string;
  status: GenerationStatus;
  prompt: string;
  model: string;
  result: string | null;
  error: string | null;
  attempts: number;
  usage: { promptTokens: number | null; completionTokens: number | null };
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

export function toView(generation: Generation): GenerationView {
  return {
    id: generation.id,
    status: generation.status,
    prompt: generation.prompt,
    model: generation.model,
    result: generation.result,
    error: generation.error,
    attempts: generation.attempts,
    usage: { promptTokens: generation.promptTokens, completionTokens: generation.completionTokens },
    createdAt: generation.createdAt.toISOString(),
    startedAt: generation.startedAt?.toISOString() ?? null,
    completedAt: generation.completedAt?.toISOString() ?? null,
  };
}
