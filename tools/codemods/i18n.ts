import { i18nTransform } from './src/i18n';
import { main } from './src/runner';

main('codemod:i18n', 'npm run codemod:i18n -- <path...> [--dry-run] [--check]', [], () =>
  i18nTransform(),
);
