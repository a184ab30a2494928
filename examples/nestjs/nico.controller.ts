// NICEPAY's three NICO endpoints in NestJS (on Express), with the app created with
// NestFactory.create(AppModule, { rawBody: true }): Nest's JSON parser keeps the raw bytes
// in req.rawBody, which the endpoints check the signatures against.
import { All, Catch, Controller, Inject, Next, Req, Res, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { NICO_PATHS, type NicoEndpoints } from './nico.js';

/** The injection token of the endpoints (`createNicoEndpoints()` in nico.ts). */
export const NICO = Symbol('NICO endpoints');

// @All, not @Post: every method is answered, a GET with the SNAP 405. @Res(): the endpoint writes the answer.
@Controller()
export class NicoController {
  constructor(@Inject(NICO) private readonly nico: NicoEndpoints) {}

  @All(NICO_PATHS.accessToken)
  accessToken(@Req() req: Request, @Res() res: Response, @Next() next: NextFunction): void {
    this.nico.accessToken(req, res, next);
  }

  @All(NICO_PATHS.inquiry)
  inquiry(@Req() req: Request, @Res() res: Response, @Next() next: NextFunction): void {
    this.nico.inquiry(req, res, next);
  }

  @All(NICO_PATHS.payment)
  payment(@Req() req: Request, @Res() res: Response, @Next() next: NextFunction): void {
    this.nico.payment(req, res, next);
  }
}

/**
 * A body Nest's parser refused on a NICO path (not JSON, over its limit, a gzip body that
 * does not inflate) never reaches the controller, and Nest would answer it with its own
 * JSON. This global filter answers every exception on a NICO path as SNAP instead (a refused
 * body 400 / 400xx00, anything else 500 / 500xx00), and leaves the other paths to Nest.
 */
@Catch() // every exception, not only HttpException: a parser's error may come unwrapped
export class NicoBodyParserErrors extends BaseExceptionFilter {
  constructor(@Inject(NICO) private readonly nico: NicoEndpoints) {
    super();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const [req, res] = [host.switchToHttp().getRequest<Request>(), host.switchToHttp().getResponse<Response>()];
    const name = (Object.keys(NICO_PATHS) as (keyof typeof NICO_PATHS)[]).find((key) => NICO_PATHS[key] === req.path);
    if (name === undefined) return super.catch(exception, host);
    this.nico[name].bodyParserErrorHandler(exception, req, res, () => super.catch(exception, host));
  }
}
