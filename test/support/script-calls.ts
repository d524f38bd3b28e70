import type Redis from 'ioredis';

/** Script calls a client sends, counted from now on; `reset` starts the count over. */
export interface ScriptCalls {
  readonly count: number;
  reset(): void;
}

/**
 * Counts the Lua script calls `redis` sends: every script call goes through `sendCommand` as
 * EVALSHA (or EVAL once, when the script is not loaded yet).
 */
export function countScriptCalls(redis: Redis): ScriptCalls {
  let count = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    if (command.name === 'evalsha' || command.name === 'eval') count += 1;
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  return {
    get count() {
      return count;
    },
    reset: () => {
      count = 0;
    },
  };
}
