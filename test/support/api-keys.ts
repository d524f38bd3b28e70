import { CLI_MAIN, runToExit } from './processes';

/** Creates an API key with the real CLI (`apikey:create <args>`) and returns the key. */
export async function createApiKey(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const result = await runToExit(CLI_MAIN, ['apikey:create', ...args], env);
  if (result.code !== 0) throw new Error(`apikey:create exited ${result.code}: ${result.stderr}`);
  return result.stdout.trimEnd().split('\n').pop() as string;
}
