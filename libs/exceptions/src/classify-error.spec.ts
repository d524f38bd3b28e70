import { BadRequestException, NotFoundException, ValidationError } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AppException } from './app.exception';
import { classifyError } from './classify-error';
import { errorMessage } from './error-message';
import { flattenValidationErrors } from './validation';

describe('classifyError', () => {
  it('keeps an AppException detail, code and headers', () => {
    const error = new AppException(401, errorMessage('authenticating request', 'bad key'), {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
    expect(classifyError(error)).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      detail: 'Error authenticating request: bad key',
      errors: undefined,
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  });

  it('never passes a framework message through', () => {
    const classified = classifyError(new NotFoundException('Cannot GET /internal/thing'));
    expect(classified).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(classified.detail).not.toContain('/internal/thing');
    expect(classifyError(new BadRequestException('ThrottlerException: x')).detail).not.toContain(
      'Throttler',
    );
  });

  it('maps a unique violation to 409 and other query failures to 500', () => {
    const unique = new QueryFailedError(
      'INSERT …',
      [],
      Object.assign(new Error('dup'), { code: '23505' }),
    );
    expect(classifyError(unique)).toMatchObject({ status: 409, code: 'CONFLICT' });
    const missing = new QueryFailedError(
      'SELECT …',
      [],
      Object.assign(new Error('no'), { code: '42P01' }),
    );
    expect(classifyError(missing)).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
  });

  it.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    Object.assign(new Error('the database system is shutting down'), { code: '57P03' }),
  ])('maps an unreachable dependency (%s) to 503', (error) => {
    expect(classifyError(error)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });

  it('maps anything else to a generic 500', () => {
    const classified = classifyError(new TypeError('x is not a function at /srv/a.ts:1:2'));
    expect(classified).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect(classified.detail).toBe(
      'Error processing request: an unexpected error occurred; quote the request id when reporting it',
    );
  });
});

describe('flattenValidationErrors', () => {
  it('gives nested fields dotted paths', () => {
    const errors: ValidationError[] = [
      { property: 'name', constraints: { isString: 'name must be a string' }, children: [] },
      {
        property: 'items',
        children: [
          {
            property: '0',
            children: [
              { property: 'title', constraints: { isNotEmpty: 'title should not be empty' } },
            ],
          },
        ],
      },
    ];
    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'name', messages: ['name must be a string'] },
      { field: 'items.0.title', messages: ['title should not be empty'] },
    ]);
  });
});
