import 'reflect-metadata';
import { setupDatabase } from '@app/database';
import { failStartup, startProcess } from '@app/lifecycle';
import { closeLoggers, getLogger } from '@app/logging';

type Command = (args: string[]) => Promise<void>;

/**
 * Operator commands (`npm run db:setup`, …): same configuration as the apps, logs as service
 * `cli`. Each prints what a person needs on stdout and exits non-zero on failure.
 */
const COMMANDS: Record<string, Command> = {
  'db:setup': async () => {
    await setupDatabase(startProcess('cli'));
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(
      `Error running command: unknown command ${JSON.stringify(name ?? '')}; ` +
        `known: ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    process.exit(2);
  }
  try {
    await command(args);
    await closeLoggers();
  } catch (error) {
    getLogger('Cli').error({ err: error }, `Error running ${name}`);
    await failStartup(error, 'Cli');
  }
}

void main();
