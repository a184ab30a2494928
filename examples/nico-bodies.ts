/**
 * EXAMPLE body shapes for `createTransactionHandler<Body>()`: NOT NICEPAY's schema.
 *
 * NICEPAY's public NICO pages do not print the CVS inquiry and payment bodies, so the
 * package ships no body type of its own. These are examples to copy and adjust once
 * NICEPAY gives you the real fields:
 * - `SnapVaInquiryBodyExample` / `SnapVaPaymentBodyExample`: the shapes of NICEPAY's sibling
 *   product, Inquiry Virtual Account (NIVA), from `../shared/spec/README.md` ("Shapes from
 *   the sibling VA product"); lengths in the comments are NIVA's;
 * - `DemoPaymentBodyExample`: the made-up body of `npm run demo`.
 *
 * A number that JavaScript cannot hold exactly arrives as a string of its digits (the body
 * is parsed losslessly), so numeric fields are typed `number | string`.
 *
 * @example
 * ```ts
 * const payment = createTransactionHandler<SnapVaPaymentBodyExample>({
 *   ...options,
 *   handle: ({ body }, { answer }) => answer.ok({ paymentRequestId: body.paymentRequestId }),
 * });
 * ```
 */

/** EXAMPLE (NIVA's inquiry), not NICEPAY's CVS schema. */
export interface SnapVaInquiryBodyExample {
  readonly partnerServiceId: string; // 20
  readonly customerNo: string | number; // 40; ASPI's examples send it as a bare number
  readonly virtualAccountNo: string; // 25
  readonly inquiryRequestId: string; // 40
  readonly additionalInfo?: Readonly<Record<string, unknown>>;
}

/** EXAMPLE (NIVA's payment notification), not NICEPAY's CVS schema. */
export interface SnapVaPaymentBodyExample extends SnapVaInquiryBodyExample {
  readonly virtualAccountName: string; // 100
  readonly trxId: string; // 40
  readonly paymentRequestId: string; // 128, NICEPAY's unique id of the payment
  readonly paidAmount: { readonly value: string; readonly currency: string }; // value e.g. "25000.00", currency "IDR"
  readonly trxDateTime: string; // 25
}

/** EXAMPLE: the body `npm run demo` sends. */
export interface DemoPaymentBodyExample {
  readonly paymentCode: string;
  readonly paymentRequestId: string;
  readonly paidAmount: { readonly value: string; readonly currency: string };
}
