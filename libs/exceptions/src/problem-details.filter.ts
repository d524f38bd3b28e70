import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { getLogger } from '@app/logging';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { ClassifiedError, classifyError } from './classify-error';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem details body with the platform's extensions. */
export interface ProblemDetails {
  type: 'about:blank';
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId?: string;
  errors?: ClassifiedError['errors'];
}

const logger = getLogger('ExceptionFilter');

/**
 * Terminus answers probes with its own body (`{status, info, error, details}`) even on 503;
 * monitoring tools read that shape, so it passes through untouched.
 */
function healthCheckBody(exception: unknown): object | undefined {
  if (!(exception instanceof HttpException) || exception.getStatus() !== 503) return undefined;
  const body = exception.getResponse();
  return typeof body === 'object' && body !== null && 'status' in body && 'details' in body
    ? body
    : undefined;
}

export function toProblem(classified: ClassifiedError, req: Request): ProblemDetails {
  return {
    type: 'about:blank',
    title: STATUS_CODES[classified.status] ?? 'Error',
    status: classified.status,
    code: classified.code,
    detail: classified.detail,
    instance: (req.originalUrl ?? req.url ?? '/').split('?')[0],
    requestId: req.id === undefined ? undefined : String(req.id),
    ...(classified.errors ? { errors: classified.errors } : {}),
  };
}

/**
 * The one global filter: every error the api produces — controllers, guards, pipes,
 * interceptors, Express middleware, unknown routes, body parsing — is classified, logged and
 * answered as problem details. Stacks, SQL, paths and class names go to the logs only.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();

    const health = healthCheckBody(exception);
    if (health) {
      this.send(res, 503, 'application/json', health, {});
      return;
    }

    const classified = classifyError(exception);
    const problem = toProblem(classified, req);
    this.log(problem, exception, req);
    this.send(res, problem.status, PROBLEM_CONTENT_TYPE, problem, classified.headers);
  }

  private log(problem: ProblemDetails, exception: unknown, req: Request): void {
    const fields = {
      status: problem.status,
      code: problem.code,
      method: req.method,
      path: problem.instance,
    };
    if (problem.status >= 500) {
      const cause = exception instanceof HttpException ? exception.cause : undefined;
      logger.error({ ...fields, err: exception, cause }, problem.detail);
    } else {
      logger.warn(problem.errors ? { ...fields, errors: problem.errors } : fields, problem.detail);
    }
  }

  private send(
    res: Response,
    status: number,
    contentType: string,
    body: object,
    headers: Record<string, string>,
  ): void {
    if (res.headersSent) {
      // Part of a response already left: the client cannot be told more; end it so it does not hang.
      logger.warn({ status }, 'Error sending error response: headers were already sent');
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).setHeader('Content-Type', contentType);
    res.end(JSON.stringify(body));
  }
}
