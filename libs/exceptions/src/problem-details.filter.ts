import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { getLogger } from '@app/logging';
import type { Request, Response } from 'express';
import { ClassifiedError, classifyError } from './classify-error';
import { PROBLEM_CONTENT_TYPE, ProblemDetails, problemDetails } from './problem-details';

const logger = getLogger('ExceptionFilter');

function toProblem(classified: ClassifiedError, req: Request): ProblemDetails {
  return problemDetails({
    ...classified,
    instance: req.originalUrl ?? req.url ?? '/',
    requestId: req.id === undefined ? undefined : String(req.id),
  });
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

    const classified = classifyError(exception);
    const problem = toProblem(classified, req);
    this.log(problem, exception, req);
    this.send(res, problem, classified.headers);
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

  private send(res: Response, problem: ProblemDetails, headers: Record<string, string>): void {
    if (res.headersSent) {
      // Part of a response already left: the client cannot be told more; end it so it does not hang.
      logger.warn(
        { status: problem.status },
        'Error sending error response: headers were already sent',
      );
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(problem.status).setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    res.end(JSON.stringify(problem));
  }
}
