import { AppConfig, appVersion } from '@app/config';
import { ERROR_CODES } from '@app/exceptions';
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LIVENESS_OPENAPI } from '../health/liveness.route';

export const DOCS_PATH = '/api/docs';

/** Swagger UI injects an inline style; nothing else runs from outside its own files. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  required: ['type', 'title', 'status', 'code', 'detail', 'instance'],
  properties: {
    type: { type: 'string', example: 'about:blank' },
    title: { type: 'string', example: 'Bad Request' },
    status: { type: 'integer', example: 400 },
    code: { type: 'string', enum: [...ERROR_CODES] },
    detail: { type: 'string', example: 'Error validating request: 1 field is invalid' },
    instance: { type: 'string', example: '/api/v1/generations' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'messages'],
        properties: {
          field: { type: 'string' },
          messages: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

/** The IETF draft's rate-limit fields, as every counted response of the api carries them. */
const RATE_LIMIT_HEADERS = {
  'RateLimit-Policy': {
    description:
      'Every policy that applied, per the IETF draft\'s list syntax: the per-IP "default" first (absent for exempt addresses), then the per-key "key" and, on POST /api/v1/generations, "generations"; q = requests per window, w = window in seconds. Example: "default";q=60;w=60, "key";q=60;w=60, "generations";q=20;w=60',
    schema: { type: 'string' },
  },
  RateLimit: {
    description:
      'What is left of each policy in RateLimit-Policy, in the same order: r = requests remaining, t = seconds until the window starts again. Example: "default";r=59;t=60, "key";r=59;t=60, "generations";r=19;t=60',
    schema: { type: 'string' },
  },
  'Retry-After': {
    description: 'On 429 and 403 IP_BANNED: seconds until a retry can succeed',
    schema: { type: 'integer' },
  },
};

/** The OpenAPI document at /api/docs-json and Swagger UI at /api/docs (DOCS_ENABLED). */
export function mountSwagger(app: INestApplication, config: AppConfig): boolean {
  if (!config.http.docsEnabled) return false;
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Rocket Launch GenAI Platform')
      .setDescription(
        'Generations API. Every error is RFC 9457 problem details with a `code` from a fixed catalogue: ' +
          ERROR_CODES.join(', ') +
          '. The `local` provider (model `local-dev-echo`) is a development stand-in, not a model.',
      )
      .setVersion(appVersion())
      .setLicense('Proprietary', 'https://example.com/license')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' }, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' },
        'metricsToken',
      )
      .addServer('/')
      .build(),
  );
  document.paths = { ...LIVENESS_OPENAPI, ...document.paths };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of Object.values(item)) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const { responses } = operation as { responses: Record<string, { headers?: object }> };
      // Health routes are public: say so, rather than leave their security undefined.
      if (path.startsWith('/health')) (operation as { security?: unknown[] }).security = [];
      if (!path.startsWith('/api/v1')) continue;
      for (const [status, response] of Object.entries(responses)) {
        const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
        response.headers = {
          ...response.headers,
          'RateLimit-Policy': ref('RateLimit-Policy'),
          RateLimit: ref('RateLimit'),
          ...(status === '429' || status === '403' ? { 'Retry-After': ref('Retry-After') } : {}),
        };
      }
    }
  }
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Problem: PROBLEM_SCHEMA },
    headers: { ...document.components?.headers, ...RATE_LIMIT_HEADERS },
  };
  SwaggerModule.setup(DOCS_PATH.slice(1), app, document, {
    jsonDocumentUrl: `${DOCS_PATH.slice(1)}-json`,
    swaggerOptions: { persistAuthorization: false },
  });
  return true;
}
