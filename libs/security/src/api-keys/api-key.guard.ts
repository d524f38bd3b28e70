import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import { getLogger, setLogContext } from '@app/logging';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { securityEvent } from '../events/security-event';
import { clientIp } from '../http/client-ip';
import { BanList } from '../rate-limit/ban-list';
import { prefixOf, presentedKey } from './api-key-format';
import { RouteMetadataCache } from '../route-metadata-cache';
import { ApiKeyService } from './api-key.service';
import { ADMIN_ONLY, IS_PUBLIC, PUBLIC_OUTSIDE_PRODUCTION } from './public.decorator';

const logger = getLogger('ApiKeyGuard');

interface RouteAccess {
  isPublic: boolean;
  adminOnly: boolean;
}

const REASONS = {
  missing: 'no API key was given',
  malformed: 'the API key is invalid',
  unknown: 'the API key is invalid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
} as const;

/**
 * Global guard: every route needs a valid API key unless marked @Public(). The key's owner
 * becomes the request's userId in the log context. A failure is a 401 with
 * `WWW-Authenticate: Bearer`, an `auth_failed` security event (reason and key prefix, never the
 * key), and a count toward the IP's auth-failure ban.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly routes = new RouteMetadataCache<RouteAccess>((targets) => {
    const flag = (key: string): boolean =>
      this.reflector.getAllAndOverride<boolean>(key, targets) ?? false;
    return {
      isPublic: flag(IS_PUBLIC) || (flag(PUBLIC_OUTSIDE_PRODUCTION) && !this.config.isProduction),
      adminOnly: flag(ADMIN_ONLY),
    };
  });

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly bans: BanList,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, adminOnly } = this.routes.of(context);
    if (isPublic || context.getType() !== 'http') return true;

    const req = context.switchToHttp().getRequest<Request>();
    const key = presentedKey(req);
    const outcome = key ? await this.keys.verify(key) : 'missing';
    if (typeof outcome === 'string') throw await this.reject(req, outcome, key);

    req.auth = outcome;
    setLogContext({ userId: outcome.userId });
    logger.debug({ keyId: outcome.keyId }, 'API key verified');
    if (adminOnly && !outcome.admin) {
      throw new AppException(
        403,
        errorMessage('authorizing request', 'an admin API key is required'),
      );
    }
    return true;
  }

  private async reject(
    req: Request,
    reason: keyof typeof REASONS,
    key: string | undefined,
  ): Promise<AppException> {
    const ip = clientIp(req);
    securityEvent(
      'auth_failed',
      { ip, reason, keyPrefix: key ? prefixOf(key) : undefined, path: req.path },
      `authentication failed: ${REASONS[reason]}`,
    );
    // No credential at all is not a guess: a page cannot get its visitors banned that way.
    if (reason !== 'missing') await this.bans.recordFailedCredential(ip);
    return new AppException(401, errorMessage('authenticating request', REASONS[reason]), {
      headers: { 'WWW-Authenticate': 'Bearer realm="rocket-launch"' },
    });
  }
}
