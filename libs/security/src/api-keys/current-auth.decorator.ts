import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import type { ApiKeyIdentity } from './api-key.service';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by ApiKeyGuard once the key is verified. */
    auth?: ApiKeyIdentity;
  }
}

/** The verified identity of the calling API key. */
export const CurrentAuth = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ApiKeyIdentity | undefined =>
    context.switchToHttp().getRequest<Request>().auth,
);
