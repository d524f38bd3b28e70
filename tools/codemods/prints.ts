import { DEFAULT_LOGGER_MODULE, printsTransform } from './src/prints';
import { main } from './src/runner';

main(
  'codemod:prints',
  'npm run codemod:prints -- <path...> [--dry-run] [--check] [--import <module>]',
  ['import'],
  (values) => printsTransform({ importModule: values.import ?? DEFAULT_LOGGER_MODULE }),
);
