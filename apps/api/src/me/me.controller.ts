import { ApiKeyIdentity, CurrentAuth } from '@app/security';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../docs/api-errors.decorator';
import { MeResponse } from '../generations/generation.response';

/** The calling key's identity: `{userId, keyId, keyName, admin}`. */
@ApiTags('identity')
@ApiProblems()
@Controller('api/v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'Who the calling API key belongs to' })
  @ApiOkResponse({ type: MeResponse })
  me(@CurrentAuth() auth: ApiKeyIdentity): {
    userId: string;
    keyId: string;
    keyName: string;
    admin: boolean;
  } {
    return { userId: auth.userId, keyId: auth.keyId, keyName: auth.keyName, admin: auth.admin };
  }
}
