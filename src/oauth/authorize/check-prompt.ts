import { InvalidRequest } from '../oauth-error.ts';

const PROMPTS = new Set(['none', 'login', 'consent']);

/** OIDC Core §3.1.2.1: prompt values (none alone), max_age a non-negative integer. */
export function checkPrompt(params: Record<string, string>): { prompt: string[]; maxAge: number | null } {
  const prompt = [...new Set((params.prompt ?? '').split(' ').filter(Boolean))];
  for (const p of prompt) if (!PROMPTS.has(p)) throw InvalidRequest(`prompt ${p.slice(0, 40)} is not supported.`);
  if (prompt.includes('none') && prompt.length > 1) throw InvalidRequest('prompt=none cannot be combined with other values.');
  let maxAge: number | null = null;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) throw InvalidRequest('max_age must be a non-negative integer.');
    maxAge = Number(params.max_age);
  }
  return { prompt, maxAge };
}
