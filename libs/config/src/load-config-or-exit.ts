import { AppConfig, ServiceName } from './app-config';
import { ConfigValidationError } from './config-validation.error';
import { loadConfig } from './load-config';

/**
 * Entry points call this first: bad configuration stops the process with one line per problem
 * on stderr and exit code 1, before anything else starts.
 */
export function loadConfigOrExit(service: ServiceName): AppConfig {
  try {
    return loadConfig(process.env, { service });
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    process.stderr.write(
      error.problems.map((problem) => `Invalid configuration: ${problem}\n`).join(''),
    );
    process.exit(1);
  }
}
