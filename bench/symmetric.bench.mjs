#!/usr/bin/env node
/**
 * Measurements only, run by `npm run bench`: the symmetric signature check of the calls
 * after the token (HMAC-SHA512 with the client secret) per request, this package on each
 * crypto path (jsCrypto: @noble/hashes; nodeCrypto: node:crypto, OpenSSL) against
 * node:crypto used by hand for the same work, interleaved call by call; medians and ratios.
 *
 *   HMAC only:    verifySymmetricSignature(secret, stringToSign, sig)
 *                 vs createHmac('sha512') + timingSafeEqual
 *   per request:  SHA-256 of the body (minified and as sent, as the verifier checks both),
 *                 build both stringsToSign, two HMAC-SHA512 checks
 *                 vs the same with createHash / createHmac and a JSON minify by JSON.stringify(JSON.parse())
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { buildSymmetricStringToSign, signSymmetric, verifySymmetricSignature } from '../dist/index.js';
import { nodeCrypto } from '../dist/node.js';
import { median } from './lib.mjs';

const SECRET = '33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3Frmuos/XLx8XhXpe+LDYAbpGKZYSwtlyyLOtS/8aD7A==';
const TOKEN = 'AWsJdGmR9SiGhhPJWrT3nY2sZkq0Jx1cT0lPTlBBWVRFU1Q.kGm6dK6nIuSx3Rr2mC3pSxqO6R6uQlJjS8pBfGv8f0k';
const TS = '2024-11-13T02:54:37+07:00';
const PATH = '/api/v1.0/cvs/inquiry';
const BODY = '{ "partnerServiceId": "  888", "customerNo": "12345", "virtualAccountNo": "  88812345", "trxDateInit": "2024-11-13T02:54:37+07:00", "amount": { "value": "10000.00", "currency": "IDR" }, "additionalInfo": { "goodsNm": "Merchant Goods 1" } }';
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20000);

const stringToSign = buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: TOKEN, body: BODY, timestamp: TS });
const signature = signSymmetric(SECRET, stringToSign);
const signatureBytes = Buffer.from(signature, 'base64');

const oursOn = (options) => ({
  hmac: () => verifySymmetricSignature(SECRET, stringToSign, signature, options),
  request: () => {
    const base = { method: 'POST', path: PATH, accessToken: TOKEN, body: BODY, timestamp: TS };
    const a = verifySymmetricSignature(SECRET, buildSymmetricStringToSign({ ...base, bodyHash: 'minified' }), signature, options);
    const b = verifySymmetricSignature(SECRET, buildSymmetricStringToSign({ ...base, bodyHash: 'as-sent' }), signature, options);
    return a || b;
  },
});
const ours = oursOn(undefined);
const oursNative = oursOn({ crypto: nodeCrypto });
const node = {
  hmac: () => timingSafeEqual(createHmac('sha512', SECRET).update(stringToSign).digest(), signatureBytes),
  request: () => {
    const check = (body) => {
      const sts = `POST:${PATH}:${TOKEN}:${createHash('sha256').update(body).digest('hex')}:${TS}`;
      const given = Buffer.from(signature, 'base64');
      return given.length === 64 && timingSafeEqual(createHmac('sha512', SECRET).update(sts).digest(), given);
    };
    const a = check(JSON.stringify(JSON.parse(BODY)));
    const b = check(BODY);
    return a || b;
  },
};

const time = (f) => {
  const t0 = process.hrtime.bigint();
  if (!f()) throw new Error('does not verify');
  return Number(process.hrtime.bigint() - t0);
};
console.log(`\nSymmetric signature (HMAC-SHA512), ${SAMPLES} interleaved calls each, median`);
console.log('                             jsCrypto    nodeCrypto   node:crypto by hand   jsCrypto / by hand   nodeCrypto / by hand');
for (const what of ['hmac', 'request']) {
  const a = [];
  const n = [];
  const b = [];
  for (let i = 0; i < SAMPLES + 1000; i++) {
    const x = time(ours[what]);
    const z = time(oursNative[what]);
    const y = time(node[what]);
    if (i >= 1000) {
      a.push(x);
      n.push(z);
      b.push(y);
    }
  }
  const label = what === 'hmac' ? 'HMAC check only          ' : 'per request (both hashes)';
  const us = (ns) => `${(ns / 1000).toFixed(1)} µs`;
  console.log(`  ${label}  ${us(median(a)).padStart(9)}  ${us(median(n)).padStart(11)}  ${us(median(b)).padStart(20)}  ${(median(a) / median(b)).toFixed(2).padStart(18)}x  ${(median(n) / median(b)).toFixed(2).padStart(20)}x`);
}
