// POST /api/v1.0/cvs/inquiry: NICEPAY asks for a bill, with the token from the first call.
import { createNextTransactionRouteHandlers } from 'nicepay-nico/next';
import { bills, requireEnv, transactionCommon } from '../../../../../lib/nico.js';

export const dynamic = 'force-dynamic';

export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextTransactionRouteHandlers(() => ({
  ...transactionCommon('inquiry'),
  serviceCode: requireEnv('CVS_INQUIRY_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS inquiry'),
  handle: ({ body }, { answer }) => {
    const bill = typeof body.paymentCode === 'string' ? bills.get(body.paymentCode) : undefined;
    if (!bill) return answer.fail('bill-not-found');
    if (bill.paid) return answer.fail('paid-bill');
    return answer.ok({ paymentCode: body.paymentCode, customerName: bill.customerName, totalAmount: bill.totalAmount });
  },
}));
