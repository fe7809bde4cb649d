import { expect } from 'vitest';
import { bearer, login, register, type TestApp } from '../../helpers/test-app.ts';
import type { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';

/** Shared steps of the passkey tests, each through the HTTP API. */
export const api = (slug: string) => `/t/${slug}/api/v1`;

export async function signUp(t: TestApp, slug: string, email: string): Promise<{ id: string; access: string; refresh: string }> {
  const r = await register(t, slug, email);
  expect(r.statusCode, r.body).toBe(201);
  return { id: r.json().user.id, access: r.json().access_token, refresh: r.json().refresh_token };
}

export async function signIn(t: TestApp, slug: string, email: string): Promise<{ id: string; access: string }> {
  const r = await login(t, slug, email);
  expect(r.statusCode, r.body).toBe(200);
  return { id: r.json().user.id, access: r.json().access_token };
}

export async function registrationOptions(t: TestApp, slug: string, access: string) {
  const r = await t.app.inject({ method: 'POST', url: `${api(slug)}/me/mfa/webauthn/registration/options`, headers: bearer(access) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().options;
}

export function verifyRegistration(t: TestApp, slug: string, access: string, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: `${api(slug)}/me/mfa/webauthn/registration/verify`, headers: bearer(access), payload });
}

/** Registers a passkey on the soft authenticator for the signed-in user; returns the stored credential. */
export async function addPasskey(t: TestApp, slug: string, access: string, soft: SoftAuthenticator, name?: string) {
  const options = await registrationOptions(t, slug, access);
  const r = await verifyRegistration(t, slug, access, { response: soft.create(options), ...(name ? { name } : {}) });
  expect(r.statusCode, r.body).toBe(201);
  return r.json() as { id: string; name: string; device_type: string; backed_up: boolean; transports: string[]; last_used_at: string | null };
}

export async function loginOptions(t: TestApp, slug: string, email?: string) {
  const r = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/webauthn/authentication/options`, payload: email ? { email } : {} });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { challenge_id: string; options: { challenge: string; rpId: string; allowCredentials?: { id: string; type: string; transports: string[] }[] } };
}

export function verifyLogin(t: TestApp, slug: string, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: `${api(slug)}/auth/webauthn/authentication/verify`, payload });
}

/** A whole passwordless sign-in with the soft authenticator: the raw verify answer. */
export async function passkeySignIn(t: TestApp, slug: string, soft: SoftAuthenticator, email?: string, get: Parameters<SoftAuthenticator['get']>[1] = {}) {
  const { challenge_id, options } = await loginOptions(t, slug, email);
  return verifyLogin(t, slug, { challenge_id, response: soft.get(options, get) });
}

export async function auditActions(t: TestApp, slug: string, adminAccess: string, action: string) {
  const r = await t.app.inject({ method: 'GET', url: `${api(slug)}/admin/audit?action=${encodeURIComponent(action)}`, headers: bearer(adminAccess) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().events as { action: string; subject_id: string | null; details: Record<string, unknown>; risk: string }[];
}

/**
 * Raises the session to aal2 with a passkey already registered (POST /auth/step-up with {webauthn}): what adding a
 * further factor or removing one needs once the user has MFA.
 */
export async function stepUpWithPasskey(t: TestApp, slug: string, access: string, soft: SoftAuthenticator) {
  const o = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/step-up/webauthn/options`, headers: bearer(access) });
  expect(o.statusCode, o.body).toBe(200);
  const r = await t.app.inject({
    method: 'POST',
    url: `${api(slug)}/auth/step-up`,
    headers: bearer(access),
    payload: { webauthn: { challenge_id: o.json().challenge_id, response: soft.get(o.json().options) } },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { access_token: string };
}
