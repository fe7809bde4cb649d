import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { UserRow } from '../identity/user.model.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { RiskAssessment } from './login-risk.ts';
import { raiseAlert } from '../security/alerts.ts';

/**
 * Applies the tenant's risk policy to a sign-in whose password was right: at or above the block threshold it is
 * refused (and audited, committed); at or above the alert threshold it is recorded as suspicious. Below both,
 * nothing is written here: the score still goes into the login.succeeded event.
 */
export async function enforceRiskPolicy(gh: Gatehouse, tenant: ResolvedTenant, user: UserRow, risk: RiskAssessment, ctx: AuditContext) {
  const s = effectiveSettings(tenant);
  const block = s.risk_block_threshold > 0 && risk.score >= s.risk_block_threshold;
  if (!block && risk.score < s.risk_alert_threshold) return;
  const details = { risk_score: risk.score, risk_score_100: Math.round(risk.score * 100), risk_reasons: risk.reasons };
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    await recordAudit(tx, ctx, { action: block ? 'login.blocked' : 'login.suspicious', actorId: user.id, actorType: 'user', subjectId: user.id, risk: 'high', details });
    // The alert (issue 4's suspicious_login): the admins are told, and the owner, who may not have been the one signing in.
    await raiseAlert(tx, { type: 'suspicious_login', userId: user.id, details: { ...details, blocked: block, ip: ctx.ip ?? null } }, { sealer: gh.sealer, tenant });
  });
  if (block) {
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'blocked', method: 'password' });
    throw new AppError('LOGIN_BLOCKED');
  }
}
