import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { accountRoutes } from './account.routes.ts';
import { emailPageRoutes } from './email-pages.routes.ts';
import { signInRoutes } from './sign-in.routes.ts';

/**
 * The self-service hosted pages at the tenant root (issue 7): the pages mails link to, sign-in / sign-up / sign-out,
 * and the account pages. Registered inside the OAuth plugin, so they share its form parser, page CSP and HTML errors.
 */
export async function hostedPageRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  await app.register(emailPageRoutes, { gh });
  await app.register(signInRoutes, { gh });
  await app.register(accountRoutes, { gh });
}
