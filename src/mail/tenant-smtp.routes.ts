import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { noContent } from '../http/request-context.ts';
import { errorResponses } from '../http/schemas.ts';
import { requirePlatform as requirePlatformCredential } from '../platform/platform-credentials.ts';
import { findTenant } from '../tenancy/tenant.service.ts';
import { deleteTenantSmtp, describeSmtpUrl, isSmtpUrl, readTenantSmtp, setTenantSmtp } from './tenant-smtp.ts';

const smtpSchema = {
  type: 'object',
  description: 'Never the password',
  properties: {
    configured: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'integer' },
    secure: { type: 'boolean' },
    user: { type: ['string', 'null'] },
  },
} as const;
const tenantParam = { type: 'object', properties: { tenant: { type: 'string', minLength: 1, maxLength: 63 } } } as const;

/**
 * A tenant's own SMTP server, set by the platform operator (not the tenant's admins: an SMTP URL reaches into the
 * network Gatehouse runs in). The URL is sealed at rest; responses and logs never carry its password.
 */
export async function tenantSmtpRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const security = [{ platformAuth: [] }];
  const tags = ['platform'];

  const requirePlatform = (request: FastifyRequest) => requirePlatformCredential(gh.db, request);

  app.get<{ Params: { tenant: string } }>(
    '/tenants/:tenant/smtp',
    { schema: { tags, security, summary: "The tenant's own SMTP server, if any (else SMTP_URL is used)", params: tenantParam, response: { 200: smtpSchema, ...errorResponses(401, 404) } } },
    async (request) => {
      await requirePlatform(request);
      const tenant = await findTenant(gh, request.params.tenant);
      const smtp = await withTenantTx(gh.db, tenant.id, (tx) => readTenantSmtp(tx, gh.sealer));
      return smtp ? { configured: true, ...describeSmtpUrl(smtp.url) } : { configured: false };
    },
  );

  app.put<{ Params: { tenant: string }; Body: { smtp_url: string } }>(
    '/tenants/:tenant/smtp',
    {
      schema: {
        tags,
        security,
        summary: "Send this tenant's mail through its own SMTP server (smtp:// or smtps://, with user and password)",
        params: tenantParam,
        body: { type: 'object', required: ['smtp_url'], additionalProperties: false, properties: { smtp_url: { type: 'string', minLength: 8, maxLength: 2000 } } },
        response: { 200: smtpSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const ctx = await requirePlatform(request);
      const tenant = await findTenant(gh, request.params.tenant);
      const url = request.body.smtp_url;
      if (!isSmtpUrl(url)) {
        throw new AppError('VALIDATION_ERROR', { message: 'smtp_url must be smtp://[user:pass@]host[:port] or smtps://...', details: [{ field: 'smtp_url', message: 'is not an SMTP URL' }] });
      }
      const shown = describeSmtpUrl(url);
      await withTenantTx(gh.db, tenant.id, async (tx) => {
        await setTenantSmtp(tx, gh.sealer, url);
        await recordAudit(tx, ctx, { action: 'mail.smtp_updated', risk: 'medium', details: { host: shown.host, port: shown.port, secure: shown.secure } });
      });
      return { configured: true, ...shown };
    },
  );

  app.delete<{ Params: { tenant: string } }>(
    '/tenants/:tenant/smtp',
    { schema: { tags, security, summary: "Back to the global SMTP_URL for this tenant's mail", params: tenantParam, response: { 204: { type: 'null' }, ...errorResponses(401, 404) } } },
    async (request, reply) => {
      const ctx = await requirePlatform(request);
      const tenant = await findTenant(gh, request.params.tenant);
      await withTenantTx(gh.db, tenant.id, async (tx) => {
        if (await deleteTenantSmtp(tx)) await recordAudit(tx, ctx, { action: 'mail.smtp_deleted', risk: 'medium' });
      });
      return noContent(reply);
    },
  );
}
