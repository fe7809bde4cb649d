import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, meOutcome, refreshWith, type InjectResponse } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

/**
 * Browser delivery: the refresh token lives in an httpOnly, Secure, SameSite=Strict cookie scoped to the tenant's
 * auth path and never appears in a response body; a cookie-borne refresh also needs the CSRF header.
 */
describe(`refresh token cookie delivery and CSRF (${backendName})`, () => {
  let t: TestApp;
  const PATH = '/t/acme/api/v1/auth';

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
  });
  afterAll(() => t.close());

  const setCookies = (res: InjectResponse): string[] => {
    const h = res.headers['set-cookie'];
    return h === undefined ? [] : Array.isArray(h) ? h : [h];
  };
  const cookieValue = (res: InjectResponse, name: string) => res.cookies.find((c) => c.name === name)?.value;

  async function cookieLogin() {
    const res = await t.app.inject({
      method: 'POST',
      url: `${PATH}/login`,
      payload: { email: 'alice@example.com', password: STRONG_PASSWORD, token_delivery: 'cookie' },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res;
  }
  /** What a browser sends: POST with credentials and the CSRF header, no body at all. */
  const cookieRefresh = (cookies: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `${PATH}/refresh`, cookies, headers });

  it('login with token_delivery=cookie: hardened Set-Cookie headers, csrf_token in the body, no refresh_token', async () => {
    const res = await cookieLogin();
    const body = res.json();
    expect(body.refresh_token).toBeUndefined();
    expect(res.body).not.toContain('ghr_');
    expect(typeof body.csrf_token).toBe('string');
    expect(body.csrf_token.length).toBeGreaterThanOrEqual(32);
    expect(body.access_token).toEqual(expect.any(String));

    const raw = setCookies(res);
    const refreshCookie = raw.find((c) => c.startsWith('gh_refresh='));
    const csrfCookie = raw.find((c) => c.startsWith('gh_csrf='));
    for (const c of [refreshCookie, csrfCookie]) {
      expect(c).toBeDefined();
      expect(c).toMatch(/;\s*HttpOnly(;|$)/i);
      expect(c).toMatch(/;\s*Secure(;|$)/i);
      expect(c).toMatch(/;\s*SameSite=Strict(;|$)/i);
      expect(c).toMatch(new RegExp(`;\\s*Path=${PATH.replaceAll('/', '\\/')}(;|$)`));
      expect(c).toMatch(/;\s*Max-Age=\d+/i);
      expect(c).not.toMatch(/;\s*Domain=/i);
    }
    expect(cookieValue(res, 'gh_refresh')).toMatch(/^ghr_/);
    expect(cookieValue(res, 'gh_csrf')).toBe(body.csrf_token);
    expect(await meOutcome(t, 'acme', body.access_token)).toEqual({ status: 200, code: undefined });
  });

  it('refresh by cookie without, or with a wrong, X-CSRF-Token → 403 CSRF_FAILED (and the token is not consumed)', async () => {
    const login = await cookieLogin();
    const cookies = { gh_refresh: cookieValue(login, 'gh_refresh')!, gh_csrf: cookieValue(login, 'gh_csrf')! };
    const csrf = login.json().csrf_token as string;

    const attempts: Record<string, string>[] = [
      {},
      { 'x-csrf-token': '' },
      { 'x-csrf-token': 'wrong' },
      { 'x-csrf-token': csrf.slice(0, -1) },
      { 'x-csrf-token': csrf + 'x' },
      { 'x-csrf-token': cookies.gh_refresh }, // the refresh token is not the CSRF token
    ];
    for (const headers of attempts) {
      const res = await cookieRefresh(cookies, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(errorCode(res)).toBe('CSRF_FAILED');
      expect(res.body).not.toContain('access_token');
    }
    // The header alone, with the CSRF cookie missing, must fail too.
    const noCsrfCookie = await cookieRefresh({ gh_refresh: cookies.gh_refresh }, { 'x-csrf-token': csrf });
    expect(noCsrfCookie.statusCode).toBe(403);
    expect(errorCode(noCsrfCookie)).toBe('CSRF_FAILED');

    // None of that consumed the refresh token: the legitimate request still works (no reuse detected).
    const ok = await cookieRefresh(cookies, { 'x-csrf-token': csrf });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('with the right header → 200, rotated cookies, new csrf_token, still no refresh_token in the body', async () => {
    const login = await cookieLogin();
    const first = { gh_refresh: cookieValue(login, 'gh_refresh')!, gh_csrf: cookieValue(login, 'gh_csrf')! };

    const res = await cookieRefresh(first, { 'x-csrf-token': login.json().csrf_token });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.refresh_token).toBeUndefined();
    expect(res.body).not.toContain('ghr_');
    const second = { gh_refresh: cookieValue(res, 'gh_refresh')!, gh_csrf: cookieValue(res, 'gh_csrf')! };
    expect(second.gh_refresh).toMatch(/^ghr_/);
    expect(second.gh_refresh).not.toBe(first.gh_refresh);
    expect(second.gh_csrf).not.toBe(first.gh_csrf);
    expect(body.csrf_token).toBe(second.gh_csrf);
    for (const c of setCookies(res)) expect(c).toMatch(/HttpOnly.*Secure|Secure.*HttpOnly/i);
    expect(await meOutcome(t, 'acme', body.access_token)).toEqual({ status: 200, code: undefined });

    // The old CSRF value does not go with the new cookies.
    const stale = await cookieRefresh(second, { 'x-csrf-token': login.json().csrf_token });
    expect(stale.statusCode).toBe(403);

    // The rotated-out cookie is reuse: the session dies and the cookies are cleared.
    const reuse = await cookieRefresh(first, { 'x-csrf-token': first.gh_csrf });
    expect(reuse.statusCode).toBe(401);
    expect(errorCode(reuse)).toBe('REFRESH_TOKEN_REUSED');
    const cleared = setCookies(reuse).filter((c) => /^gh_(refresh|csrf)=;/.test(c));
    expect(cleared).toHaveLength(2);
    for (const c of cleared) expect(c).toMatch(new RegExp(`Path=${PATH.replaceAll('/', '\\/')}`));
    expect((await meOutcome(t, 'acme', body.access_token)).status).toBe(401);
  });

  it('cookie refresh works with no body (browser fetch) and with an empty JSON object', async () => {
    for (const payload of [undefined, {}]) {
      const login = await cookieLogin();
      const res = await t.app.inject({
        method: 'POST',
        url: `${PATH}/refresh`,
        cookies: { gh_refresh: cookieValue(login, 'gh_refresh')!, gh_csrf: cookieValue(login, 'gh_csrf')! },
        headers: { 'x-csrf-token': login.json().csrf_token },
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, `${JSON.stringify(payload)}: ${res.body}`).toBe(200);
      expect(cookieValue(res, 'gh_refresh')).toMatch(/^ghr_/);
    }
    // No body and no cookie: still a clean 401, not a validation error.
    const bare = await t.app.inject({ method: 'POST', url: `${PATH}/refresh` });
    expect(bare.statusCode).toBe(401);
    expect(errorCode(bare)).toBe('REFRESH_TOKEN_INVALID');
  });

  it('a cookie-delivered refresh token is still a normal refresh token (rotation applies in the body path too)', async () => {
    const login = await cookieLogin();
    const token = cookieValue(login, 'gh_refresh')!;
    const viaBody = await refreshWith(t, 'acme', token);
    expect(viaBody.statusCode).toBe(200);
    expect(viaBody.json().refresh_token).toMatch(/^ghr_/);
    expect(errorCode(await refreshWith(t, 'acme', token))).toBe('REFRESH_TOKEN_REUSED');
  });

  it('logout clears the cookies', async () => {
    const login = await cookieLogin();
    const res = await t.app.inject({ method: 'POST', url: `${PATH}/logout`, headers: bearer(login.json().access_token) });
    expect(res.statusCode).toBe(204);
    const cleared = setCookies(res).filter((c) => /^gh_(refresh|csrf)=;/.test(c));
    expect(cleared).toHaveLength(2);
    const after = await cookieRefresh(
      { gh_refresh: cookieValue(login, 'gh_refresh')!, gh_csrf: cookieValue(login, 'gh_csrf')! },
      { 'x-csrf-token': login.json().csrf_token },
    );
    expect(after.statusCode).toBe(401);
    expect(errorCode(after)).toBe('REFRESH_TOKEN_INVALID');
  });
});
