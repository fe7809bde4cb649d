import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../oauth-error.ts';
import { checkPkce, verifyPkce } from './check-pkce.ts';
import { checkPrompt } from './check-prompt.ts';
import { checkScope } from './check-scope.ts';
import { maxAgeExceeded } from './authorization.ts';

const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const challenge = createHash('sha256').update(verifier).digest('base64url');

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as OAuthError;
  }
  throw new Error('did not throw');
};

describe('authorize checks', () => {
  it('PKCE: S256 only, a well-formed challenge, verified in constant time', () => {
    expect(checkPkce({ code_challenge: challenge, code_challenge_method: 'S256' })).toBe(challenge);
    for (const p of [{ code_challenge: challenge }, { code_challenge: verifier, code_challenge_method: 'plain' }, {}, { code_challenge: 'a', code_challenge_method: 'S256' }]) {
      expect(errorOf(() => checkPkce(p as Record<string, string>)).error).toBe('invalid_request');
    }
    // RFC 7636 appendix B's example pair.
    expect(challenge).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(verifyPkce(verifier, challenge)).toBe(true);
    expect(verifyPkce(verifier + 'x', challenge)).toBe(false);
    expect(verifyPkce(undefined, challenge)).toBe(false);
    expect(verifyPkce('short', challenge)).toBe(false);
  });

  it('prompt: known values, none alone; max_age a non-negative integer', () => {
    expect(checkPrompt({ prompt: 'login consent', max_age: '300' })).toEqual({ prompt: ['login', 'consent'], maxAge: 300 });
    expect(checkPrompt({})).toEqual({ prompt: [], maxAge: null });
    const bad: Record<string, string>[] = [{ prompt: 'none login' }, { prompt: 'select_account' }, { max_age: '-1' }, { max_age: '1.5' }, { max_age: 'soon' }];
    for (const p of bad) {
      expect(errorOf(() => checkPrompt(p)).error, JSON.stringify(p)).toBe('invalid_request');
    }
  });

  it('scope: a subset of the client’s, nothing added by default', () => {
    const client = { scopes: ['openid', 'email', 'api:read'] };
    expect(checkScope(client, 'openid  email openid')).toEqual(['openid', 'email']);
    expect(checkScope(client, undefined)).toEqual([]);
    expect(errorOf(() => checkScope(client, 'openid profile')).error).toBe('invalid_scope');
  });

  it('max_age counts from the sign-in', () => {
    const tenMinutesAgo = { created_at: new Date(Date.now() - 600_000) };
    expect(maxAgeExceeded(tenMinutesAgo, null)).toBe(false);
    expect(maxAgeExceeded(tenMinutesAgo, 3600)).toBe(false);
    expect(maxAgeExceeded(tenMinutesAgo, 60)).toBe(true);
  });
});
