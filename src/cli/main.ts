/**
 * The `nicepay-nico` command: sign, verify, request, probe, vectors. The only code of the
 * package with I/O besides the adapters; built to dist/cli.js.
 * @module
 */
import { readFileSync } from 'node:fs';
import { UsageError, oneLine } from './args.js';
import { probe } from './commands/probe.js';
import { request } from './commands/request.js';
import { sign } from './commands/sign.js';
import { simulate } from './commands/simulate.js';
import { verify } from './commands/verify.js';
import { vectors } from './commands/vectors.js';

/** Where a command writes. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdout: { readonly isTTY?: boolean };
}

type Command = (argv: readonly string[], io: Io) => number | Promise<number>;

const COMMANDS: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = {
  simulate: { run: simulate, summary: 'play NICEPAY through the whole flow (token, inquiry, payment, retries) against a running server' },
  probe: { run: probe, summary: 'conformance suite against the access-token, inquiry and payment endpoints (table, --json, --report, --junit)' },
  sign: { run: sign, summary: 'sign an access-token or --transaction request like NICEPAY; print the headers and a curl command' },
  verify: { run: verify, summary: "check a captured request's X-SIGNATURE, and show what was checked when it fails" },
  request: { run: request, summary: 'send one signed access-token or --transaction request and print the exchange' },
  vectors: { run: vectors, summary: "print the known-answer vectors (NICEPAY's, and the body-hashing dialects) as JSON" },
};

export const MAIN_HELP = `Usage: nicepay-nico <command> [options]

Play NICEPAY against a merchant's NICO (SNAP) endpoints: the access token
(POST /api/v1.0/access-token/b2b), then CVS inquiry and payment (/api/v1.0/cvs/inquiry,
/api/v1.0/cvs/payment). Works against a server written in any language.

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(10)}${summary}`)
  .join('\n')}

Run nicepay-nico <command> --help for a command's options.
Keys: PEM, bare base64 or DER files; NICEPAY's 1024-bit sandbox key needs --sandbox.
Client secrets: --client-secret-file FILE (- for stdin) or NICEPAY_CLIENT_SECRET.
Colour only on a terminal, never with NO_COLOR.

Options:
  -h, --help     this help
  -v, --version  the version
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Run the command line `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  let name = 'nicepay-nico';
  try {
    if (first === undefined) throw new UsageError(`missing command (${Object.keys(COMMANDS).join(', ')}); see nicepay-nico --help`);
    if (first === '--help' || first === '-h' || first === 'help') {
      io.out(MAIN_HELP);
      return 0;
    }
    if (first === '--version' || first === '-v') {
      io.out(`${version()}\n`);
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(first)} (${Object.keys(COMMANDS).join(', ')}); see nicepay-nico --help`);
    name = `nicepay-nico ${first}`;
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${name}: ${error.message}${name === 'nicepay-nico' || !error.pointToHelp ? '' : `; see ${name} --help`}\n`);
      return 2;
    }
    io.err(`${name}: internal error: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    return 3;
  }
}
