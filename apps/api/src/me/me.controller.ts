import { ApiKeyIdentity, CurrentAuth } from '@app/security';
import { Controller, Get } from '@nestjs/common';

/** The calling key's identity: `{userId, keyId, keyName, admin}`. */
@Controller('api/v1/me')
export class MeController {
  @Get()
  me(@CurrentAuth() auth: ApiKeyIdentity): {
    userId: string;
    keyId: string;
    keyName: string;
    admin: boolean;
  } {
    return { userId: auth.userId, keyId: auth.keyId, keyName: auth.keyName, admin: auth.admin };
  }
}
