import type { Gatehouse } from '../../context.ts';

/** Deletes authorization codes an hour after they expired (kept that long so a late replay is still recognised). */
export async function cleanupExpiredCodes(gh: Gatehouse): Promise<number> {
  const r = await gh.db.query(`DELETE FROM oauth_codes WHERE expires_at < now() - interval '1 hour'`);
  return r.rowCount;
}
