import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'security:isPublic';

/** Marks a route or controller that needs no API key (health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
