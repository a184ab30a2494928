import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { NICO, NicoBodyParserErrors, NicoController } from './nico.controller.js';
import { createNicoEndpoints } from './nico.js';

// Your other routes: Nest's JSON parsing works for them as usual.
@Controller('health')
export class HealthController {
  @Get()
  get(): { status: string } {
    return { status: 'ok' };
  }

  @Post()
  post(@Body() body: unknown): { status: string; received: unknown } {
    return { status: 'ok', received: body ?? null };
  }
}

@Module({
  controllers: [NicoController, HealthController],
  providers: [
    { provide: NICO, useFactory: createNicoEndpoints },
    { provide: APP_FILTER, useClass: NicoBodyParserErrors }, // global: the parser runs before any route
  ],
})
export class AppModule {}
