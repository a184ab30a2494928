// POST /api/v1.0/cvs/payment: NICEPAY reports a payment. A retry with the same
// paymentRequestId gets the same answer (idempotency), and handle() runs once.
import { createNextTransactionRouteHandlers } from 'nicepay-nico/next';
import { bills, requireEnv, transactionCommon } from '../../../../../lib/nico.js';

export const dynamic = 'force-dynamic';

export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextTransactionRouteHandlers(() => ({
  ...transactionCommon('payment'),
  serviceCode: requireEnv('CVS_PAYMENT_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS payment'),
  idempotency: { key: ({ body }) => body.paymentRequestId },
  handle: ({ body }, { answer }) => {
    const bill = typeof body.paymentCode === 'string' ? bills.get(body.paymentCode) : undefined;
    if (!bill) return answer.fail('bill-not-found');
    if (bill.paid) return answer.fail('paid-bill');
    bill.paid = true;
    return answer.ok({ paymentCode: body.paymentCode, paymentRequestId: body.paymentRequestId, paidAmount: body.paidAmount });
  },
}));
