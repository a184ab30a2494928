// POST /api/v1.0/access-token/b2b: NICEPAY's first call. Every method is exported, so a GET
// gets the SNAP 405 (4057300) instead of Next.js's empty 405.
import { createNextRouteHandlers } from 'nicepay-nico/next';
import { accessTokenOptions } from '../../../../../lib/nico.js';

export const dynamic = 'force-dynamic'; // never prerendered at build time

// A function, not an object: called on the first request (then kept), so `next build` needs no secret.
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextRouteHandlers(accessTokenOptions);
