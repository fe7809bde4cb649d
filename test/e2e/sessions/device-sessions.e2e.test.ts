import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, meOutcome, mySessions, refreshOk, refreshWith, signIn } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

/** GET /me/sessions lists the user's devices; DELETE /me/sessions/{id} signs one out. */
describe(`device sessions (${backendName})`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    await createUser(t, 'acme', 'bob@example.com');
  });
  afterAll(() => t.close());

  const del = (access: string, id: string) =>
    t.app.inject({ method: 'DELETE', url: `/t/acme/api/v1/me/sessions/${id}`, headers: bearer(access) });

  it('lists live sessions with exactly one `current` flag, matching the token\'s session', async () => {
    const laptop = (await login(t, 'acme', 'alice@example.com', undefined, { 'user-agent': 'Laptop/1.0' })).json();
    const phone = await signIn(t, 'acme', 'alice@example.com');
    const laptopSid = JSON.parse(Buffer.from(laptop.access_token.split('.')[1], 'base64url').toString()).sid as string;

    const fromPhone = await mySessions(t, 'acme', phone.access);
    const ids = fromPhone.map((s) => s.id);
    expect(ids).toContain(phone.sid);
    expect(ids).toContain(laptopSid);
    expect(fromPhone.filter((s) => s.current).map((s) => s.id)).toEqual([phone.sid]);
    const laptopRow = fromPhone.find((s) => s.id === laptopSid) as Record<string, unknown>;
    expect(laptopRow.user_agent).toBe('Laptop/1.0');
    // Nothing secret leaks into the listing.
    const raw = JSON.stringify(fromPhone);
    expect(raw).not.toContain('ghr_');
    expect(raw).not.toContain('token_hash');
    expect(raw).not.toContain('user_id');

    const fromLaptop = await mySessions(t, 'acme', laptop.access_token);
    expect(fromLaptop.filter((s) => s.current).map((s) => s.id)).toEqual([laptopSid]);

    // A refresh keeps the session (and its current flag).
    const rotated = await refreshOk(t, 'acme', phone.refresh);
    expect((await mySessions(t, 'acme', rotated.access)).filter((s) => s.current).map((s) => s.id)).toEqual([phone.sid]);
  });

  it('DELETE /me/sessions/{id} revokes that device at once and leaves the current one', async () => {
    const phone = await signIn(t, 'acme', 'alice@example.com');
    const laptop = await signIn(t, 'acme', 'alice@example.com');

    const res = await del(phone.access, laptop.sid);
    expect(res.statusCode, res.body).toBe(204);

    expect(await meOutcome(t, 'acme', laptop.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(errorCode(await refreshWith(t, 'acme', laptop.refresh))).toBe('REFRESH_TOKEN_INVALID');
    expect(await meOutcome(t, 'acme', phone.access)).toEqual({ status: 200, code: undefined });
    const listed = (await mySessions(t, 'acme', phone.access)).map((s) => s.id);
    expect(listed).not.toContain(laptop.sid);
    expect(listed).toContain(phone.sid);

    // Deleting it again: it is no longer a live session.
    const again = await del(phone.access, laptop.sid);
    expect(again.statusCode).toBe(404);
    expect(errorCode(again)).toBe('SESSION_NOT_FOUND');
  });

  it('a user can revoke their current session this way too', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    expect((await del(s.access, s.sid)).statusCode).toBe(204);
    expect(await meOutcome(t, 'acme', s.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  });

  it("cannot revoke, or see, another user's session (404, and the victim's session lives)", async () => {
    const alice = await signIn(t, 'acme', 'alice@example.com');
    const bob = await signIn(t, 'acme', 'bob@example.com');
    const res = await del(alice.access, bob.sid);
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe('SESSION_NOT_FOUND');
    expect(await meOutcome(t, 'acme', bob.access)).toEqual({ status: 200, code: undefined });
    expect((await mySessions(t, 'acme', alice.access)).map((s) => s.id)).not.toContain(bob.sid);

    expect((await del(alice.access, randomUUID())).statusCode).toBe(404);
    expect((await del(alice.access, 'not-a-uuid')).statusCode).toBe(400);
  });

  it('needs authentication', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me/sessions' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: `/t/acme/api/v1/me/sessions/${s.sid}` })).statusCode).toBe(401);
  });
});
