/**
 * Loud configuration checks shared by the handlers: an unset environment variable (a client
 * key, a public key, a client secret, a token secret) is refused at creation with a message
 * that names the option, never its value.
 * @module
 */
import { isWellFormedClientKey } from '../protocol/access-token-request.js';

/** Why a configured value looks like an unset environment variable, or `undefined` when it does not. @internal */
export function unsetValue(value: unknown): string | undefined {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string' && value.trim() === '') return value === '' ? 'an empty string' : 'only whitespace';
  return undefined;
}

/** The hint after an unset value. */
export const UNSET_HINT = '(an unset environment variable?)';

/** A client id as messages show it: quoted, at most 40 characters. */
export const quoteId = (id: string): string => JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}...` : id);

/**
 * The ids of a `clients` map: at least one, each an id NICEPAY can send (1-128 visible ASCII
 * characters without `|` or `,`), none the text an unset environment variable makes of a key
 * (`{ [process.env.NICEPAY_CLIENT_KEY]: ... }` with the variable unset is `{ undefined: ... }`).
 * @throws {TypeError} naming the id and the header. @internal
 */
export function checkClientIds(clients: object, fn: string, header: 'X-CLIENT-KEY' | 'X-PARTNER-ID'): void {
  const ids = Object.keys(clients);
  if (ids.length === 0) {
    throw new TypeError(`${fn}: clients is empty: configure at least one client, { [${header}]: ... } (or give a lookup function for clients loaded later)`);
  }
  for (const id of ids) {
    if (id === 'undefined' || id === 'null' || id.trim() === '') {
      throw new TypeError(
        `${fn}: clients has the client ${quoteId(id)}, which is what an unset environment variable makes of a key ` +
          `({ [process.env.NAME]: ... }); set the ${header} NICEPAY sends, e.g. IONPAYTEST`,
      );
    }
    if (!isWellFormedClientKey(id)) {
      throw new TypeError(
        `${fn}: client ${quoteId(id)} is not an ${header} NICEPAY can send: 1-128 visible ASCII characters without "|" or "," ` +
          '(a space or line break from an environment variable?)',
      );
    }
  }
}
