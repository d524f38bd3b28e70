import { ApiKeyIdentity, CurrentAuth } from '@app/security';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../docs/api-errors.decorator';

export class MeResponse {
  @ApiProperty()
  userId: string;

  @ApiProperty({ format: 'uuid' })
  keyId: string;

  @ApiProperty()
  keyName: string;

  @ApiProperty()
  admin: boolean;
}

/** The calling key's identity: `{userId, keyId, keyName, admin}`. */
@ApiTags('identity')
@ApiProblems()
@Controller('api/v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'Who the calling API key belongs to' })
  @ApiOkResponse({ type: MeResponse })
  me(@CurrentAuth() auth: ApiKeyIdentity): MeResponse {
    return { userId: auth.userId, keyId: auth.keyId, keyName: auth.keyName, admin: auth.admin };
  }
}
