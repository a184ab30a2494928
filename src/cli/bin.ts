/**
 * The executable: dist/cli.js (`#!/usr/bin/env node`). Everything else is in main.ts.
 * @module
 */
import { main, type Io } from './main.js';

const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  stdout: process.stdout,
};

// A closed pipe (e.g. `nicepay-nico vectors | head`) is not worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const code = await main(process.argv.slice(2), io);
process.exitCode = code;
// fetch's keep-alive sockets would hold the process for a few seconds: leave once the output is written.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
