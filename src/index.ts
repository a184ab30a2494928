/**
 * nicepay-nico: verify NICEPAY's SNAP access-token request for the Inquiry Convenience
 * Store (NICO) product, and answer it. Pure functions, no I/O, any JavaScript runtime.
 *
 * @module nicepay-nico
 */
export { SnapError, SNAP_ERROR_TABLE, isSnapError } from './errors.js';
export type { SnapErrorCode, SnapErrorInit, SnapErrorMapping } from './errors.js';

export {
  ACCESS_TOKEN_SERVICE_CODE,
  SNAP_RESPONSE_CODES,
  parseResponseCode,
  snapResponse,
  snapResponseCode,
} from './response-codes.js';
export type { ParsedResponseCode, SnapResponseBody, SnapResponseCodeEntry, SnapResponseInit } from './response-codes.js';

export { importPrivateKey, importPublicKey, KeyImportError } from './crypto/keys.js';
export type { KeyImportErrorCode, KeyImportOptions, KeyInput, RsaPrivateKey, RsaPublicKey } from './crypto/keys.js';
export { signStringToSign, verifySignature } from './crypto/rsa.js';
export type { VerifySignatureOptions } from './crypto/rsa.js';
export { jsCrypto } from './crypto/provider.js';
export type { CryptoProvider } from './crypto/provider.js';
export { timingSafeEqual } from './crypto/bytes.js';

export { buildStringToSign } from './protocol/string-to-sign.js';
export { formatTimestamp, parseTimestamp } from './protocol/timestamp.js';
export type { ParsedTimestamp } from './protocol/timestamp.js';
export { createTokenResponse, MAX_ACCESS_TOKEN_LENGTH } from './protocol/token-response.js';
export type { AccessTokenResponse, TokenResponseInit } from './protocol/token-response.js';
export { DEFAULT_MAX_BODY_BYTES } from './protocol/body.js';
export type { RawBody } from './protocol/body.js';
export type { HeadersInput } from './protocol/headers.js';
export { createAccessTokenVerifier, verifyAccessTokenRequest } from './protocol/access-token-request.js';
export type {
  AccessTokenRequest,
  AccessTokenVerifyOptions,
  ClientKeys,
  VerifiedAccessTokenRequest,
} from './protocol/access-token-request.js';

export { createAccessTokenHandler, handleAccessTokenRequest } from './server/access-token-handler.js';
export type {
  AccessTokenHandler,
  AccessTokenHandlerOptions,
  ClientKeyLookup,
  EndpointRequest,
  EndpointResponse,
  ErrorContext,
  IssueTokenContext,
} from './server/access-token-handler.js';
export { createAccessTokenIssuer, MAX_TOKEN_CLIENT_KEY_LENGTH } from './server/token-issuer.js';
export type {
  AccessTokenCheck,
  AccessTokenFailure,
  AccessTokenIssuer,
  AccessTokenIssuerOptions,
  TokenSecret,
} from './server/token-issuer.js';
export { createMemoryClaimStore, DEFAULT_MAX_CLAIMS } from './server/claim-store.js';
export type { ClaimStore, MemoryClaimStore, MemoryClaimStoreOptions, ReserveResult } from './server/claim-store.js';
export { createMemoryIdempotencyStore, DEFAULT_MAX_IDEMPOTENCY_KEYS } from './server/idempotency-store.js';
export type {
  IdempotencyBegin,
  IdempotencyStore,
  MemoryIdempotencyStore,
  MemoryIdempotencyStoreOptions,
  StoredAnswer,
} from './server/idempotency-store.js';
export { isStoreError, StoreError } from './server/store-error.js';
export type { StoreErrorCode } from './server/store-error.js';
export { DEFAULT_PENDING_TTL_SECONDS, DEFAULT_STORE_TIMEOUT_MS } from './server/lifecycle.js';
export type { StoreTimingOptions } from './server/lifecycle.js';
export { CALL_EVENT_REASONS, OnEventError } from './server/events.js';
export type { CallEvent, CallEventEndpoint, CallEventOutcome, CallEventReason } from './server/events.js';

export {
  bodySha256Hex,
  buildAsymmetricBodyStringToSign,
  buildSymmetricStringToSign,
  minifyJson,
  sha256Hex,
  signSymmetric,
  verifySymmetricSignature,
} from './protocol/symmetric.js';
export type { BodyHashMode, SymmetricStringToSignInit } from './protocol/symmetric.js';
export { createRedisClaimStore } from './server/redis-claim-store.js';
export type { RedisClaimStore, RedisClaimStoreOptions } from './server/redis-claim-store.js';
export type { IoRedisClientLike, NodeRedisClientLike, RedisClaimStoreClient, RedisCommandFunction } from './server/redis-command.js';
export { createRedisIdempotencyStore } from './server/redis-idempotency-store.js';
export type { RedisIdempotencyStore, RedisIdempotencyStoreOptions } from './server/redis-idempotency-store.js';

export { externalIdClaim, signatureClaimKey } from './protocol/claim-keys.js';
export type { ExternalIdClaim } from './protocol/claim-keys.js';
export { verifyTransactionRequest } from './protocol/transaction-request.js';
export type {
  StoredToken,
  TokenVerifier,
  TransactionClient,
  TransactionClients,
  TransactionRequest,
  TransactionSignatureMode,
  TransactionVerifyOptions,
  VerifiedTransactionRequest,
} from './protocol/transaction-request.js';
export { createTransactionHandler } from './server/transaction-handler.js';
export { BUSINESS_REFUSALS } from './server/answers.js';
export type { BusinessRefusal, TransactionAnswer, TransactionAnswers } from './server/answers.js';
export type { AbortSignalLike, HandleContext, IdempotencyOptions, TransactionHandler, TransactionHandlerOptions } from './server/transaction-handler.js';
