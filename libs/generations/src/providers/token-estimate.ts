/**
 * Tokens of a text when no provider counted them: its words, separated by white space (how
 * the local provider counts). `GenerationStore` estimates a stored prompt the same way in SQL.
 */
export function estimateTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}
