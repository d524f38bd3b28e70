/**
 * The one form of user-facing messages, `Error <action>: <details>`, so that every error reads
 * the same way in every client, e.g. `errorMessage('creating generation', 'prompt is empty')`.
 */
export function errorMessage(action: string, details: string): string {
  return `Error ${action}: ${details}`;
}

/** What a client is told when the error did not say more (never the original message). */
export function defaultDetailFor(status: number): string {
  switch (status) {
    case 400:
      return errorMessage('processing request', 'the request is malformed');
    case 401:
      return errorMessage('authenticating request', 'a valid API key is required');
    case 403:
      return errorMessage('authorizing request', 'access to this resource is forbidden');
    case 404:
      return errorMessage('finding resource', 'the requested resource does not exist');
    case 405:
      return errorMessage('processing request', 'the method is not allowed on this resource');
    case 409:
      return errorMessage(
        'processing request',
        'it conflicts with the current state of the resource',
      );
    case 413:
      return errorMessage('reading request body', 'it is larger than the allowed limit');
    case 415:
      return errorMessage('reading request body', 'the content type must be application/json');
    case 429:
      return errorMessage('processing request', 'too many requests; retry later');
    case 503:
      return errorMessage('processing request', 'a required service is unavailable; retry later');
    default:
      return status >= 500
        ? errorMessage(
            'processing request',
            'an unexpected error occurred; quote the request id when reporting it',
          )
        : errorMessage('processing request', 'the request cannot be processed');
  }
}
