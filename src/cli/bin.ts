/**
 * The executable: dist/cli.js (`#!/usr/bin/env node`). Everything else is in main.ts.
 * @module
 */
import { main, type Io } from './main.js';

/** Set when stdout cannot be written: a closed pipe, or another error (a full disk). */
let stdoutFailed: string | undefined;

const io: Io = {
  out: (text) => {
    if (stdoutFailed === undefined) process.stdout.write(text);
  },
  err: (text) => void process.stderr.write(text),
  stdout: process.stdout,
};

// A closed pipe (e.g. `nicepay-nico simulate ... | head`) is not worth a stack trace, and
// must not cut the run short: the command goes on (its --report and --junit files are
// still written) and exits with its own code. Any other write error fails the command.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  stdoutFailed = error.code ?? 'unknown error';
});

let code = await main(process.argv.slice(2), io);
if (stdoutFailed !== undefined && stdoutFailed !== 'EPIPE') {
  process.stderr.write(`nicepay-nico: cannot write the output (${stdoutFailed})\n`);
  code = Math.max(code, 1);
}
process.exitCode = code;
// fetch's keep-alive sockets would hold the process for a few seconds: leave once the output is written.
if (stdoutFailed !== undefined) process.exit(code);
process.stdout.write('', (error) => {
  if (error && (error as NodeJS.ErrnoException).code !== 'EPIPE') {
    process.stderr.write(`nicepay-nico: cannot write the output (${(error as NodeJS.ErrnoException).code ?? error.message})\n`);
    code = Math.max(code, 1);
  }
  process.stderr.write('', () => process.exit(code));
});
