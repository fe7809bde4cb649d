import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { tokenResponse, type ClientInfo, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx, type TenantDb } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail } from '../identity/user.model.ts';
import { recordLogin } from '../identity/user.queries.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import { enqueueMail, mailLocale } from '../mail/outbox.ts';
import { roleRank, type Role } from '../rbac/roles.ts';
import { createSession } from '../session/session.queries.ts';
import { randomToken, sha256 } from '../shared/crypto.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { flowLink } from './flow-link.ts';

export interface InvitationRow {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'revoked';
  invited_by: string | null;
  expires_at: Date;
  accepted_user_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, email, role, status, invited_by, expires_at, accepted_user_id, created_at, updated_at';

/** An invitation token: 256 bits, its own prefix; only the SHA-256 is stored. */
const newInvitationToken = () => randomToken(32, 'ghi_');

/** As listed to admins: a pending invitation past its expiry reads `expired`. */
export function invitationView(i: InvitationRow) {
  const status = i.status === 'pending' && i.expires_at.getTime() <= Date.now() ? 'expired' : i.status;
  return { ...i, status };
}

async function mailInvitation(tx: TenantDb, gh: Gatehouse, tenant: ResolvedTenant, inv: InvitationRow, token: string, acceptLanguage?: string) {
  const days = Math.max(1, Math.round((inv.expires_at.getTime() - Date.now()) / 86_400_000));
  await enqueueMail(tx, gh.sealer, tenant, {
    to: inv.email,
    template: 'invitation',
    data: { url: flowLink(tenant, 'accept-invitation', token), role: inv.role, days },
    locale: mailLocale(tenant, null, acceptLanguage),
  });
}

/** An admin invites an address with a role (never above their own); a pending invitation to it is replaced. */
export async function createInvitation(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  actor: { id: string; role: Role },
  input: { email: string; role: Role },
  ctx: AuditContext,
  acceptLanguage?: string,
): Promise<InvitationRow> {
  if (roleRank(input.role) > roleRank(actor.role)) throw new AppError('FORBIDDEN', { message: 'You cannot invite to a role above your own.' });
  const email = normalizeEmail(input.email);
  const token = newInvitationToken();
  return withTenantTx(gh.db, tenant.id, async (tx) => {
    const taken = await tx.query('SELECT 1 FROM users WHERE email = $1', [email]);
    if (taken.rows.length) throw new AppError('EMAIL_TAKEN');
    await tx.query(`UPDATE invitations SET status = 'revoked', updated_at = now() WHERE email = $1 AND status = 'pending'`, [email]);
    const inv = (
      await tx.query<InvitationRow>(
        `INSERT INTO invitations (email, role, token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int)) RETURNING ${COLUMNS}`,
        [email, input.role, sha256(token), actor.id, effectiveSettings(tenant).invitation_ttl],
      )
    ).rows[0]!;
    await mailInvitation(tx, gh, tenant, inv, token, acceptLanguage);
    await recordAudit(tx, ctx, { action: 'invitation.created', details: { invitation_id: inv.id, email, role: inv.role } });
    return inv;
  });
}

export async function listInvitations(tx: TenantDb, status?: string): Promise<InvitationRow[]> {
  return (
    await tx.query<InvitationRow>(
      `SELECT ${COLUMNS} FROM invitations WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT 500`,
      [status ?? null],
    )
  ).rows;
}

async function pendingInvitation(tx: TenantDb, id: string): Promise<InvitationRow> {
  const inv = (await tx.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE id = $1 FOR UPDATE`, [id])).rows[0];
  if (!inv) throw new AppError('INVITATION_NOT_FOUND');
  if (inv.status !== 'pending') throw new AppError('INVITATION_NOT_PENDING');
  return inv;
}

export async function revokeInvitation(gh: Gatehouse, tenant: ResolvedTenant, id: string, ctx: AuditContext): Promise<void> {
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const inv = await pendingInvitation(tx, id);
    await tx.query(`UPDATE invitations SET status = 'revoked', updated_at = now() WHERE id = $1`, [id]);
    await recordAudit(tx, ctx, { action: 'invitation.revoked', details: { invitation_id: id, email: inv.email } });
  });
}

/** A new link (the old one stops working) and a fresh expiry. */
export async function resendInvitation(gh: Gatehouse, tenant: ResolvedTenant, id: string, ctx: AuditContext, acceptLanguage?: string): Promise<InvitationRow> {
  const token = newInvitationToken();
  return withTenantTx(gh.db, tenant.id, async (tx) => {
    await pendingInvitation(tx, id);
    const inv = (
      await tx.query<InvitationRow>(
        `UPDATE invitations SET token_hash = $2, expires_at = now() + make_interval(secs => $3::int), updated_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, sha256(token), effectiveSettings(tenant).invitation_ttl],
      )
    ).rows[0]!;
    await mailInvitation(tx, gh, tenant, inv, token, acceptLanguage);
    await recordAudit(tx, ctx, { action: 'invitation.resent', details: { invitation_id: id, email: inv.email } });
    return inv;
  });
}

/** The invitation a token names, locked; refuses unknown, other-purpose, withdrawn, accepted and expired ones. */
async function invitationByToken(tx: TenantDb, token: string): Promise<InvitationRow> {
  const inv = (await tx.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE token_hash = $1 FOR UPDATE`, [sha256(token)])).rows[0];
  if (!inv) {
    const other = await tx.query('SELECT 1 FROM email_tokens WHERE token_hash = $1', [sha256(token)]);
    throw new AppError(other.rows.length ? 'EMAIL_TOKEN_WRONG_PURPOSE' : 'EMAIL_TOKEN_INVALID');
  }
  if (inv.status === 'revoked') throw new AppError('INVITATION_REVOKED');
  if (inv.status === 'accepted') throw new AppError('EMAIL_TOKEN_USED');
  if (inv.expires_at.getTime() <= Date.now()) throw new AppError('EMAIL_TOKEN_EXPIRED');
  return inv;
}

/**
 * POST /auth/invitations/accept: creates the account (address verified by the link, with the invited role) within
 * the tenant's user limit, and signs it in. Works whatever the tenant's `registration` setting: an invitation is
 * the admin's decision.
 */
export async function acceptInvitation(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { token: string; password: string; name?: string | undefined },
  ctx: AuditContext,
  client: ClientInfo,
): Promise<TokenResponse> {
  const settings = effectiveSettings(tenant);
  const first = await withTenantTx(gh.db, tenant.id, (tx) => invitationByToken(tx, input.token));
  const passwordHash = await preparePassword(gh, tenant, input.password, { email: first.email, name: input.name });
  const { user, session, refreshToken } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const inv = await invitationByToken(tx, input.token);
    const user = await insertUserChecked(
      tx,
      tenant,
      { email: inv.email, name: input.name, role: inv.role, emailVerified: true, createdBy: inv.invited_by, passwordHash },
      { ctx, action: 'user.registered' },
    );
    await tx.query(`UPDATE invitations SET status = 'accepted', accepted_user_id = $2, updated_at = now() WHERE id = $1`, [inv.id, user.id]);
    await recordAudit(tx, ctx, { action: 'invitation.accepted', actorType: 'user', actorId: user.id, subjectId: user.id, details: { invitation_id: inv.id, role: inv.role } });
    await recordLogin(tx, user.id);
    const s = await createSession(tx, { userId: user.id, ...client, amr: ['pwd'], aal: 1 }, settings);
    await recordAudit(tx, ctx, { action: 'login.succeeded', actorId: user.id, actorType: 'user', subjectId: user.id, details: { method: 'password', session_id: s.session.id, invitation: true } });
    return { user: { ...user, login_count: user.login_count + 1, last_login_at: new Date() }, ...s };
  });
  gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'success', method: 'invitation' });
  gh.metrics.activeSessions.inc();
  return tokenResponse(gh, tenant, user, session, refreshToken);
}
