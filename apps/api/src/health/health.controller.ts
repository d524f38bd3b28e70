import { Public } from '@app/security';
import { Controller, Get } from '@nestjs/common';

/** Liveness: answers while the event loop does; never asks PostgreSQL or Redis. */
@Public()
@Controller('health')
export class HealthController {
  @Get()
  liveness(): { status: 'ok'; info: object; error: object; details: object } {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }
}
