/**
 * `nicepay-nico vectors`: NICEPAY's known-answer vectors and the generated dialect vectors,
 * the same object as `nicepay-nico/vectors`.
 * @module
 */
import { vectors as VECTORS } from '../../vectors.js';
import { COMMON_OPTIONS, parse } from '../args.js';
import type { Io } from '../main.js';
import { jsonText } from '../output.js';

export const VECTORS_HELP = `Usage:
  nicepay-nico vectors [--json]

Print the known-answer vectors as JSON. Published by NICEPAY: the 1024-bit sandbox key
pair (rsaSandboxKey), access-token signatures (SHA256withRSA over "X-CLIENT-KEY|X-TIMESTAMP")
and symmetric signatures (HMAC-SHA512). Generated here, not NICEPAY's: transactionDialects,
one inquiry/payment call per dialect of the symmetric signature (minified, as-sent,
json-stringify, php-escapes, ...) with the verdict of a correct NICO server. Each vector
names its source. The same object is importable: import { vectors } from 'nicepay-nico/vectors'.

  --json               JSON output (the default and only format)
  -h, --help           this help
`;

const OPTIONS = { ...COMMON_OPTIONS, json: { type: 'boolean' } } as const;

export function vectors(argv: readonly string[], io: Io): number {
  const { values } = parse(argv, OPTIONS, 0);
  if (values.help) {
    io.out(VECTORS_HELP);
    return 0;
  }
  io.out(`${jsonText(VECTORS)}\n`);
  return 0;
}
