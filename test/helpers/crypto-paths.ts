/**
 * The two crypto paths every vector suite runs through: pure JavaScript (jsCrypto) and the
 * runtime's node:crypto (nodeCrypto). The suites assert the same verdicts for both.
 */
import { jsCrypto, type CryptoProvider } from '../../src/index.js';
import { nodeCrypto } from '../../src/adapters/node.js';
import { cryptoOps, type CryptoOps } from '../../src/crypto/provider.js';
import { JS_OPS } from '../../src/crypto/js-ops.js';
import { hasNodeCrypto } from '../../src/crypto/native.js';

export interface CryptoPath {
  readonly name: string;
  readonly crypto: CryptoProvider;
  readonly ops: CryptoOps;
}

if (!hasNodeCrypto()) throw new Error('the tests run on Node: nodeCrypto must find node:crypto here');
if (cryptoOps(jsCrypto, 'test') !== undefined) throw new Error('jsCrypto must run the callers\' own pure code');

export const CRYPTO_PATHS: readonly CryptoPath[] = [
  // jsCrypto has no operations object (each caller runs its pure code, js-ops.ts): its
  // operations here are JS_OPS, made of those same functions.
  { name: 'pure JS', crypto: jsCrypto, ops: JS_OPS },
  { name: 'node:crypto', crypto: nodeCrypto, ops: cryptoOps(nodeCrypto, 'test') as CryptoOps },
];
