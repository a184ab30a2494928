// NICEPAY's NICO endpoints in a NestJS 12 app (platform-express). See README.md here.
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const port = Number(process.env.PORT || 3000); // 0: any free port
const host = process.env.HOST || '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0 for any free port), got ${process.env.PORT}`);
  process.exit(1);
}

// rawBody: true: Nest's JSON parser keeps the raw bytes in req.rawBody, for the signatures.
const app = await NestFactory.create(AppModule, { rawBody: true, logger: ['error', 'warn'] });
app.enableShutdownHooks(); // stop cleanly on SIGINT / SIGTERM
await app.listen(port, host);
const { port: actualPort } = app.getHttpServer().address(); // the real port, also when PORT=0
console.log(`listening on http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`); // the one line, for you (and the tests)
