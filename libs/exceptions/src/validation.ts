import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppException, FieldError } from './app.exception';
import { errorMessage } from './error-message';

/** One entry per failing field; nested fields get dotted paths (`items.0.name`). */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = error.property
      ? `${prefix}${error.property}`
      : prefix.replace(/\.$/, '') || 'body';
    const own: FieldError[] = error.constraints
      ? [{ field, messages: Object.values(error.constraints) }]
      : [];
    const nested = error.children?.length
      ? flattenValidationErrors(error.children, `${field}.`)
      : [];
    return [...own, ...nested];
  });
}

/** A validation answer (and its log line) lists this many fields at most, and says how many. */
export const MAX_LISTED_FIELDS = 20;

export function validationFailed(errors: ValidationError[]): AppException {
  const fields = flattenValidationErrors(errors);
  const count = fields.length;
  const listed = count > MAX_LISTED_FIELDS ? `; the first ${MAX_LISTED_FIELDS} are listed` : '';
  return new AppException(
    400,
    errorMessage(
      'validating request',
      `${count} ${count === 1 ? 'field is' : 'fields are'} invalid${listed}`,
    ),
    { code: 'VALIDATION_FAILED', errors: fields.slice(0, MAX_LISTED_FIELDS) },
  );
}

/** Whitelisted, unknown fields rejected, payloads transformed into their DTO classes. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: validationFailed,
  });
}
