import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'security:isPublic';
export const PUBLIC_OUTSIDE_PRODUCTION = 'security:publicOutsideProduction';
export const ADMIN_ONLY = 'security:adminOnly';

/** Marks a route or controller that needs no API key (health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Open in development and test; needs an API key in production (detailed health). */
export const PublicOutsideProduction = (): MethodDecorator & ClassDecorator =>
  SetMetadata(PUBLIC_OUTSIDE_PRODUCTION, true);

/** Needs an admin key whenever a key is required (403 for a valid non-admin key). */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ONLY, true);
