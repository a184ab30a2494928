/**
 * The two crypto paths every vector suite runs through: pure JavaScript (jsCrypto) and the
 * runtime's node:crypto (nodeCrypto). The suites assert the same verdicts for both.
 */
import { jsCrypto, type CryptoProvider } from '../../src/index.js';
import { nodeCrypto } from '../../src/adapters/node.js';
import { cryptoOps, type CryptoOps } from '../../src/crypto/provider.js';
import { hasNodeCrypto } from '../../src/crypto/native.js';

export interface CryptoPath {
  readonly name: string;
  readonly crypto: CryptoProvider;
  readonly ops: CryptoOps;
}

if (!hasNodeCrypto()) throw new Error('the tests run on Node: nodeCrypto must find node:crypto here');

export const CRYPTO_PATHS: readonly CryptoPath[] = [
  { name: 'pure JS', crypto: jsCrypto, ops: cryptoOps(jsCrypto, 'test') },
  { name: 'node:crypto', crypto: nodeCrypto, ops: cryptoOps(nodeCrypto, 'test') },
];
