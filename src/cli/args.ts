/**
 * Argument parsing (node:util parseArgs), usage errors, and key files.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { importPrivateKey, importPublicKey, KeyImportError, type RsaPrivateKey, type RsaPublicKey } from '../crypto/keys.js';

/** A mistake in the command line or its files: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** Whether to point at the command's --help (for mistakes in the arguments, not in files). */
  readonly pointToHelp: boolean;
  constructor(message: string, options: { readonly pointToHelp?: boolean } = {}) {
    super(message);
    this.pointToHelp = options.pointToHelp ?? true;
  }
}

const NO_HELP = { pointToHelp: false } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** What every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Parse `argv` strictly: unknown options, missing values and more than `maxPositionals`
 * arguments are a {@link UsageError}.
 */
export function parse<O extends Options>(argv: readonly string[], options: O, maxPositionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(explainParseError(error as Error & { code?: string }, Object.keys(options)));
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => JSON.stringify(p)).join(', ');
    throw new UsageError(`unexpected argument${parsed.positionals.length - maxPositionals > 1 ? 's' : ''} ${extra}`);
  }
  return parsed;
}

/** parseArgs' messages, shorter, with a suggestion for a misspelt option. */
function explainParseError(error: Error & { code?: string }, known: readonly string[]): string {
  const quoted = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    const given = quoted.replace(/^-+/, '');
    const squash = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');
    const guess = known.find((name) => squash(name) === squash(given)) ?? known.find((name) => distance(name, given) <= 2);
    return `unknown option ${quoted}${guess === undefined ? '' : ` (did you mean --${guess}?)`}`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted !== undefined && /argument missing/.test(error.message)) {
    return `${quoted} needs a value`;
  }
  return oneLine(error.message);
}

/** Levenshtein distance (short strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Collapse a message to one line. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** The value of a required string option. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`${name} is required`);
  return value;
}

/** X-CLIENT-KEY: non-empty, no "|" (it separates the parts of the stringToSign). */
export function parseClientKey(value: string | undefined, option = '--client-key'): string {
  const clientKey = required(value, option);
  if (clientKey.includes('|')) throw new UsageError(`${option} must not contain "|" (it separates the client id from X-TIMESTAMP in the stringToSign)`);
  return clientKey;
}

/** A positive whole number of milliseconds. */
export function parseTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new UsageError(`--timeout must be a positive whole number of milliseconds, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** An http(s) URL; a bare origin gets the access-token path. */
export function parseUrl(value: string | undefined, name = 'URL'): URL {
  if (value === undefined || value === '') throw new UsageError(`${name} is required (e.g. http://127.0.0.1:3000/api/v1.0/access-token/b2b)`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} ${JSON.stringify(value)} is not a URL (e.g. http://127.0.0.1:3000/api/v1.0/access-token/b2b)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${name} must be http:// or https://, got ${JSON.stringify(value)}`);
  if (url.username !== '' || url.password !== '') throw new UsageError(`${name} must not carry a user name or password (user:password@): NICO endpoints take none`);
  if (url.pathname === '/' && url.search === '') url.pathname = ACCESS_TOKEN_PATH;
  return url;
}

export const ACCESS_TOKEN_PATH = '/api/v1.0/access-token/b2b';

/** A file's bytes; a {@link UsageError} naming the option when it cannot be read. */
export function readFileFor(file: string, option: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : oneLine((error as Error).message);
    throw new UsageError(`cannot read ${option} ${file}: ${why}`, NO_HELP);
  }
}

/** Turn a key import failure into one line that says what to do. */
function keyError(error: unknown, option: string, file: string, sandbox: boolean): UsageError {
  if (!(error instanceof KeyImportError)) return new UsageError(`${option} ${file}: ${oneLine(String((error as Error)?.message ?? error))}`, NO_HELP);
  switch (error.code) {
    case 'PRIVATE_KEY_GIVEN':
      return new UsageError(`${option} ${file} is a private key; this command needs the public key (e.g. openssl pkey -in ${file} -pubout)`, NO_HELP);
    case 'PUBLIC_KEY_GIVEN':
      return new UsageError(`${option} ${file} is a public key or certificate; this command signs, so it needs the private key`, NO_HELP);
    case 'KEY_SIZE': {
      const bits = Number(/key is (\d+) bits/.exec(error.message)?.[1]);
      if (!sandbox && bits >= 1024 && bits < 2048) {
        return new UsageError(`${option} ${file} is a ${bits}-bit RSA key, under the 2048 bits production needs; add --sandbox to accept NICEPAY's 1024-bit sandbox key`, NO_HELP);
      }
      return new UsageError(`${option} ${file}: ${stripFn(error.message)}`, NO_HELP);
    }
    default:
      return new UsageError(`${option} ${file}: ${stripFn(error.message)}`, NO_HELP);
  }
}

const stripFn = (message: string): string => oneLine(message.replace(/^import(Public|Private)Key: /, ''));

const importOptions = (sandbox: boolean) => (sandbox ? { minModulusBits: 1024 } : {});

/** Read and import a public key file (PEM, base64 or DER; certificates too). */
export function loadPublicKey(file: string, option: string, sandbox: boolean): RsaPublicKey {
  const bytes = readFileFor(file, option);
  try {
    return importPublicKey(bytes, importOptions(sandbox));
  } catch (error) {
    throw keyError(error, option, file, sandbox);
  }
}

/** Read and import a private key file (PKCS#8 or PKCS#1; PEM, base64 or DER). */
export function loadPrivateKey(file: string, option: string, sandbox: boolean): RsaPrivateKey {
  const bytes = readFileFor(file, option);
  try {
    return importPrivateKey(bytes, importOptions(sandbox));
  } catch (error) {
    throw keyError(error, option, file, sandbox);
  }
}

/** Where a secret may come from: `--NAME S`, `--NAME-file FILE` (`-` is stdin), or the environment variable `env`. */
export interface SecretSource {
  /** The option's name without dashes, e.g. `client-secret`. */
  readonly option: string;
  /** The environment variable read when neither option is given, e.g. `NICEPAY_CLIENT_SECRET`. */
  readonly env: string;
}

/** The options {@link readSecret} reads for `source`, to spread into a command's option table. */
export const secretOptions = <N extends string>(option: N) =>
  ({ [option]: { type: 'string' }, [`${option}-file`]: { type: 'string' } }) as { [K in N | `${N}-file`]: { type: 'string' } };

/**
 * A secret from `--NAME-file FILE` (`-` reads stdin), the environment variable, or
 * `--NAME` (visible to other users in `ps` and kept in shell history, so the file and the
 * variable are preferred). One final line break of a file or stdin is dropped; the rest is
 * the secret, byte for byte. Returns undefined when none is given.
 * @throws {UsageError} when both options are given, the file cannot be read, or the value is empty.
 */
export function readSecret(
  values: Readonly<Record<string, unknown>>,
  source: SecretSource,
  env: Readonly<Record<string, string | undefined>> = process.env,
  readStdin: () => Uint8Array = () => readFileSync(0),
): string | undefined {
  const inline = values[source.option] as string | undefined;
  const file = values[`${source.option}-file`] as string | undefined;
  if (inline !== undefined && file !== undefined) throw new UsageError(`give --${source.option} or --${source.option}-file, not both`);
  let secret: string | undefined;
  let from: string;
  if (file !== undefined) {
    let bytes: Uint8Array;
    if (file === '-') {
      try {
        bytes = readStdin();
      } catch (error) {
        throw new UsageError(`cannot read --${source.option}-file - (stdin): ${oneLine((error as Error).message)}`, NO_HELP);
      }
      from = `--${source.option}-file - (stdin)`;
    } else {
      bytes = readFileFor(file, `--${source.option}-file`);
      from = `--${source.option}-file ${file}`;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new UsageError(`${from} is not UTF-8 text`, NO_HELP);
    }
    secret = text.replace(/\r?\n$/, '');
  } else if (inline !== undefined) {
    secret = inline;
    from = `--${source.option}`;
  } else {
    secret = env[source.env];
    from = `the environment variable ${source.env}`;
    if (secret === undefined) return undefined;
  }
  if (secret === '') throw new UsageError(`${from} is empty`, NO_HELP);
  return secret;
}

/** {@link readSecret}, required. */
export function requireSecret(values: Readonly<Record<string, unknown>>, source: SecretSource, env?: Readonly<Record<string, string | undefined>>): string {
  const secret = readSecret(values, source, env);
  if (secret === undefined) throw new UsageError(`the client secret is required: --${source.option}-file FILE (or - for stdin), ${source.env}=..., or --${source.option} S`);
  return secret;
}

/** The client secret's sources. */
export const CLIENT_SECRET: SecretSource = { option: 'client-secret', env: 'NICEPAY_CLIENT_SECRET' };
