/**
 * The success body of the access-token endpoint.
 * @module
 */

/**
 * The SNAP access-token success body, fields in the order NICEPAY documents.
 * @category Token
 */
export interface AccessTokenResponse {
  readonly responseCode: '2007300';
  readonly responseMessage: 'Successful';
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds, as a string (`"900"`), as NICO requires. */
  readonly expiresIn: string;
  readonly additionalInfo: Readonly<Record<string, unknown>>;
}

/**
 * What {@link createTokenResponse} takes.
 * @category Token
 */
export interface TokenResponseInit {
  /** The token: 1 to 150 characters of the RFC 6750 token alphabet (`A-Z a-z 0-9 - . _ ~ + /`, then `=` padding). */
  readonly accessToken: string;
  /** Lifetime in seconds; default `900` (15 minutes, NICO's value). */
  readonly expiresIn?: number | string;
  /** Extra data; default `{}`. */
  readonly additionalInfo?: Readonly<Record<string, unknown>>;
}

/**
 * NICO's limit on `accessToken` (SNAP allows 2048).
 * @category Token
 */
export const MAX_ACCESS_TOKEN_LENGTH = 150;

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** @internal Shared with the token issuer. */
export function checkAccessToken(token: unknown, fn: string): string {
  if (typeof token !== 'string' || token === '') {
    throw new TypeError(`${fn}: accessToken must be a non-empty string, got ${token === '' ? 'an empty string' : typeof token}`);
  }
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) {
    throw new RangeError(`${fn}: accessToken is ${token.length} characters; NICO allows at most ${MAX_ACCESS_TOKEN_LENGTH}`);
  }
  if (!B64TOKEN.test(token)) {
    throw new TypeError(`${fn}: accessToken has characters outside the RFC 6750 token alphabet (A-Z a-z 0-9 - . _ ~ + / and trailing =)`);
  }
  return token;
}

/**
 * Build the access-token success body. `JSON.stringify` of the result is exactly
 * `{"responseCode":"2007300","responseMessage":"Successful","accessToken":"...","tokenType":"Bearer","expiresIn":"900","additionalInfo":{}}`.
 *
 * @throws {@link !RangeError | RangeError} for a token over 150 characters;
 * {@link !TypeError | TypeError} for an empty token or one outside the RFC 6750 alphabet, a
 * non-positive or non-integer `expiresIn`, or an `additionalInfo` that is not a plain object.
 *
 * @example
 * ```ts
 * import { createTokenResponse } from 'nicepay-nico';
 *
 * JSON.stringify(createTokenResponse({ accessToken: 'xy8duzzavv9bwdxxrxcb89tsuvk4mf4kx4lgfe4acrvxr7xderhbe1' }));
 * // '{"responseCode":"2007300","responseMessage":"Successful","accessToken":"xy8duzzavv9bwdxxrxcb89tsuvk4mf4kx4lgfe4acrvxr7xderhbe1","tokenType":"Bearer","expiresIn":"900","additionalInfo":{}}'
 * ```
 * @category Token
 */
export function createTokenResponse(init: TokenResponseInit): AccessTokenResponse {
  const fn = 'createTokenResponse';
  if (typeof init !== 'object' || init === null) throw new TypeError(`${fn}: expected { accessToken, expiresIn?, additionalInfo? }`);
  const accessToken = checkAccessToken(init.accessToken, fn);
  const expiresIn = init.expiresIn ?? 900;
  const expiresText = typeof expiresIn === 'number' ? String(expiresIn) : expiresIn;
  if (typeof expiresText !== 'string' || !/^[1-9][0-9]{0,9}$/.test(expiresText)) {
    throw new TypeError(`${fn}: expiresIn must be a positive whole number of seconds, got ${JSON.stringify(expiresIn)}`);
  }
  const additionalInfo = init.additionalInfo === undefined ? {} : init.additionalInfo;
  if (typeof additionalInfo !== 'object' || additionalInfo === null || Array.isArray(additionalInfo)) {
    throw new TypeError(`${fn}: additionalInfo must be a plain object`);
  }
  return {
    responseCode: '2007300',
    responseMessage: 'Successful',
    accessToken,
    tokenType: 'Bearer',
    expiresIn: expiresText,
    additionalInfo,
  };
}
