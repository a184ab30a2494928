/**
 * The outcome of a bearer-token check, as the transaction verification consumes it (the
 * built-in issuer in `server/` produces it).
 * @module
 */

/**
 * Why a token was refused.
 * @category Token
 */
export type AccessTokenFailure =
  /** Not a token of this issuer's format (wrong shape, encoding or length). */
  | 'MALFORMED'
  /** The MAC does not verify under any configured secret (forged, altered, or signed by a retired secret). */
  | 'BAD_MAC'
  /** Past its expiry. */
  | 'EXPIRED'
  /** Valid, but issued to another client than the one expected. */
  | 'OTHER_CLIENT';

/**
 * The outcome of `AccessTokenIssuer.verify`.
 * @category Token
 */
export type AccessTokenCheck =
  | { readonly valid: true; readonly clientKey: string; readonly expiresAt: number }
  | { readonly valid: false; readonly reason: AccessTokenFailure };
