import { applyDecorators } from '@nestjs/common';
import { ApiResponse, ApiSecurity } from '@nestjs/swagger';

const problem = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });

/** The problem-details answers every authenticated route can give. */
export function ApiProblems(...extra: Array<[number, string]>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiSecurity('bearer'),
    ApiSecurity('apiKey'),
    problem(400, 'BAD_REQUEST, INVALID_JSON or VALIDATION_FAILED'),
    problem(401, 'UNAUTHORIZED: no, unknown, revoked or expired API key'),
    problem(403, 'IP_BANNED'),
    problem(429, 'RATE_LIMITED'),
    problem(500, 'INTERNAL_ERROR'),
    problem(503, 'SERVICE_UNAVAILABLE'),
    ...extra.map(([status, description]) => problem(status, description)),
  );
}
