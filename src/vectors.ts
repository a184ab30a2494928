/**
 * NICEPAY's published known-answer vectors, as one object: `import { vectors } from 'nicepay-nico/vectors'`
 * (or `require('nicepay-nico/vectors')`), and `nicepay-nico vectors` prints it as JSON.
 * For implementers in any language: every value says where it was published (`source`).
 * @module
 */
import rsa from '../test/vectors/nicepay-rsa.json';
import symmetric from '../test/vectors/nicepay-symmetric.json';

/** NICEPAY's public 1024-bit sandbox key pair (a published test key, never a production secret). */
export interface SandboxKeyPair {
  /** Modulus size: 1024. */
  readonly bits: number;
  /** The private key: bare base64 of the PKCS#8 DER. */
  readonly privateKeyPkcs8Base64: string;
  /** The public key: bare base64 of the SPKI DER, as NICEPAY hands keys out. */
  readonly publicKeySpkiBase64: string;
}

/** One access-token signature: SHA256withRSA (PKCS#1 v1.5) over `X-CLIENT-KEY|X-TIMESTAMP`. */
export interface AccessTokenSignatureVector {
  /** Where NICEPAY published it. */
  readonly source: string;
  /** `"rsaSandboxKey"`: signed with {@link NicepayVectors.rsaSandboxKey}. */
  readonly key?: string;
  /** Or the public key that verifies it (bare base64 SPKI DER), for verify-only vectors. */
  readonly publicKeySpkiBase64?: string;
  /** `X-CLIENT-KEY|X-TIMESTAMP`. */
  readonly stringToSign: string;
  /** `X-SIGNATURE`, standard base64. */
  readonly signatureBase64: string;
}

/** One symmetric signature: HMAC-SHA512 with the client secret over `METHOD:path:accessToken:sha256hex(body):X-TIMESTAMP`. */
export interface SymmetricSignatureVector {
  /** Where NICEPAY published it. */
  readonly source: string;
  /** The client secret; its literal UTF-8 bytes are the HMAC key. */
  readonly clientSecret: string;
  /** The stringToSign, when the source gives it whole. */
  readonly stringToSign?: string;
  readonly method?: string;
  readonly path?: string;
  readonly accessToken?: string;
  readonly timestamp?: string;
  /** The body exactly as sent. */
  readonly rawBody?: string;
  /** Lower-case hex SHA-256 of the body as the source hashed it. */
  readonly bodySha256Hex?: string;
  /** `X-SIGNATURE`, standard base64. */
  readonly signatureBase64: string;
}

/** Every vector, with its sources. */
export interface NicepayVectors {
  /** What these vectors are and how they were checked. */
  readonly description: string;
  /** Where the collection comes from. */
  readonly source: string;
  /** The files of this package's repository the vectors are copied from. */
  readonly sources: readonly string[];
  readonly rsaSandboxKey: SandboxKeyPair;
  readonly accessTokenSignatures: readonly AccessTokenSignatureVector[];
  readonly symmetricSignatures: readonly SymmetricSignatureVector[];
}

/** NICEPAY's known-answer vectors for the access-token (RSA) and symmetric (HMAC) signatures. */
export const vectors: NicepayVectors = {
  description: rsa.description,
  source: rsa.source,
  sources: ['test/vectors/nicepay-rsa.json', 'test/vectors/nicepay-symmetric.json'],
  rsaSandboxKey: rsa.rsaSandboxKey,
  accessTokenSignatures: rsa.accessTokenSignatures,
  symmetricSignatures: symmetric.symmetricSignatures,
};

/** Same as `vectors.rsaSandboxKey`. */
export const rsaSandboxKey: SandboxKeyPair = vectors.rsaSandboxKey;
/** Same as `vectors.accessTokenSignatures`. */
export const accessTokenSignatures: readonly AccessTokenSignatureVector[] = vectors.accessTokenSignatures;
/** Same as `vectors.symmetricSignatures`. */
export const symmetricSignatures: readonly SymmetricSignatureVector[] = vectors.symmetricSignatures;
