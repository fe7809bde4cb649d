import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDueMail } from '../../../src/mail/mail-worker.ts';
import { totpCode } from '../../../src/mfa/totp.ts';
import { tenantQuery } from '../../helpers/auth-flows.ts';
import { deliverAndRead, expectNoMail, startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { InjectBrowser } from '../oidc/oidc-harness.ts';
import { follow, formAt, open, submit } from './page-browser.ts';

const NEW_PASSWORD = 'a fresh and different passphrase 7';
const linkIn = (text: string) => /(http:\/\/gatehouse\.test\/\S+\?token=[A-Za-z0-9_%-]+)/.exec(text)?.[1] ?? '';

/** The pages the mails link to, driven like a browser without scripts, the links read from mail a real SMTP server got. */
describe(`hosted pages behind the mailed links (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    ids.pages = (await createTenant(t, 'pages', { settings: { passwordless: true, password_reset_max_per_hour: 100 } })).id;
    ids.strict = (await createTenant(t, 'pages-strict', { settings: { email_verification: 'required' } })).id;
    ids.closed = (await createTenant(t, 'pages-closed', { settings: { registration: 'invite_only' } })).id;
    ids.required = (await createTenant(t, 'pages-mfa', { settings: { passwordless: true, mfa_policy: 'required', mfa_grace_period: 0 } })).id;
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('forgot password → mail → reset page: mismatch and each policy rule shown, then the new password works', async () => {
    expect((await register(t, 'pages', 'dora@pages.test')).statusCode).toBe(201);
    const b = new InjectBrowser(t);
    const forgot = await open(b, '/t/pages/forgot-password');
    expect(forgot.body).toContain('<label for="email">');
    const known = await submit(b, forgot.body, '/forgot-password', { email: 'dora@pages.test' });
    const unknown = await submit(b, forgot.body, '/forgot-password', { email: 'nobody@pages.test' });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toBe(known.body);
    expect(known.body).toContain('Check your email');
    const mail = await deliverAndRead(t.gh, sink, 'dora@pages.test');
    expect(sink.to('nobody@pages.test')).toHaveLength(0);
    const link = linkIn(mail.text);
    expect(link).toMatch(/^http:\/\/gatehouse\.test\/t\/pages\/reset-password\?token=/);

    const page = await open(b, link);
    expect(page.body).toContain('autocomplete="new-password"');
    const mismatch = await submit(b, page.body, '/reset-password', { password: NEW_PASSWORD, password_confirm: NEW_PASSWORD + 'x' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatch(/role="alert"[^>]*>The two passwords are not the same/);
    const weak = await submit(b, page.body, '/reset-password', { password: 'dora1', password_confirm: 'dora1' });
    expect(weak.status).toBe(400);
    expect(weak.body).toContain('The password does not meet these rules:');
    expect(weak.body).toContain('<li>It is too short.</li>');
    expect(weak.body).toContain('<li>It must not contain your email, your name or the organisation name.</li>');
    // The refused attempts did not spend the link.
    const done = await submit(b, page.body, '/reset-password', { password: NEW_PASSWORD, password_confirm: NEW_PASSWORD });
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Password changed');
    expectError(await login(t, 'pages', 'dora@pages.test'), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, 'pages', 'dora@pages.test', NEW_PASSWORD)).statusCode).toBe(200);
    // Used once: the same link now says so.
    const again = await submit(b, page.body, '/reset-password', { password: 'yet another passphrase 99', password_confirm: 'yet another passphrase 99' });
    expect(again.status).toBe(410);
    expect(again.body).toMatch(/role="alert"[^>]*>This link or code has already been used/);
  });

  it('pages speak pt-BR when the browser asks for it', async () => {
    const b = new InjectBrowser(t);
    b.extraHeaders['accept-language'] = 'pt-BR,pt;q=0.9';
    const page = await open(b, '/t/pages/forgot-password');
    expect(page.body).toContain('<html lang="pt-BR"');
    expect(page.body).toContain('Redefinir sua senha');
  });

  it('refuses a form without the browser-bound CSRF value (another site, another browser)', async () => {
    await deliverDueMail(t.gh);
    const b = new InjectBrowser(t);
    const page = await open(b, '/t/pages/forgot-password');
    const f = formAt(page.body, '/forgot-password');
    const forged = await b.fetch(f.action, { form: { email: 'dora@pages.test', csrf: 'x'.repeat(43) } });
    expect(forged.status).toBe(403);
    const stranger = new InjectBrowser(t);
    const replayed = await stranger.fetch(f.action, { form: { ...f.fields, email: 'dora@pages.test' } });
    expect(replayed.status).toBe(403);
    await expectNoMail(t.gh, sink, 'dora@pages.test');
  });

  it('verify-email: the link only shows a button (GET changes nothing); the POST verifies', async () => {
    expect((await register(t, 'pages', 'vera@pages.test')).statusCode).toBe(201);
    const link = linkIn((await deliverAndRead(t.gh, sink, 'vera@pages.test')).text);
    expect(link).toContain('/t/pages/verify-email?token=');
    const verified = async () => (await tenantQuery<{ email_verified: boolean }>(t, ids.pages!, 'SELECT email_verified FROM users WHERE email = $1', ['vera@pages.test']))[0]!.email_verified;
    const b = new InjectBrowser(t);
    const page = await open(b, link);
    await open(b, link);
    expect(await verified()).toBe(false);
    const done = await submit(b, page.body, '/verify-email');
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Email address confirmed');
    expect(await verified()).toBe(true);
    // A page with no token is the invalid-link page.
    expect((await open(b, '/t/pages/verify-email', 400)).body).toContain('This link is invalid');
  });

  it('confirm-email-change: the link mailed to the new address, a button, then the account uses it', async () => {
    expect((await register(t, 'pages', 'old@pages.test')).statusCode).toBe(201);
    const access = (await login(t, 'pages', 'old@pages.test')).json().access_token;
    const r = await t.app.inject({ method: 'POST', url: '/t/pages/api/v1/me/email', headers: bearer(access), payload: { new_email: 'new@pages.test', current_password: STRONG_PASSWORD } });
    expect(r.statusCode, r.body).toBe(202);
    const link = linkIn((await deliverAndRead(t.gh, sink, 'new@pages.test')).text);
    expect(link).toContain('/t/pages/confirm-email-change?token=');
    const b = new InjectBrowser(t);
    const page = await open(b, link);
    const done = await submit(b, page.body, '/confirm-email-change');
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Email address changed');
    expect((await login(t, 'pages', 'new@pages.test')).statusCode).toBe(200);
  });

  it('accept-invitation: password and name create the account and sign this browser in (account page)', async () => {
    const admin = (await login(t, 'pages-closed', 'admin@pages-closed.test')).json().access_token;
    const inv = await t.app.inject({ method: 'POST', url: '/t/pages-closed/api/v1/admin/invitations', headers: bearer(admin), payload: { email: 'ivy@pages.test', role: 'user' } });
    expect(inv.statusCode, inv.body).toBe(201);
    const link = linkIn((await deliverAndRead(t.gh, sink, 'ivy@pages.test')).text);
    expect(link).toContain('/t/pages-closed/accept-invitation?token=');
    const b = new InjectBrowser(t);
    const page = await open(b, link);
    expect(page.body).toContain('<label for="name">');
    const weak = await submit(b, page.body, '/accept-invitation', { name: 'Ivy', password: 'short' });
    expect(weak.body).toContain('<li>It is too short.</li>');
    const accepted = await submit(b, page.body, '/accept-invitation', { name: 'Ivy Invited', password: NEW_PASSWORD });
    expect(accepted.status, accepted.body).toBe(303);
    expect(b.jar.has('gh_session')).toBe(true);
    const account = await follow(b, accepted);
    expect(account.status, account.body).toBe(200);
    expect(account.body).toContain('ivy@pages.test');
    expect(account.body).toContain('value="Ivy Invited"');
    expect((await login(t, 'pages-closed', 'ivy@pages.test', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('passwordless: the sign-in page links to it, the form mails a link, its button signs this browser in', async () => {
    expect((await register(t, 'pages', 'pat@pages.test')).statusCode).toBe(201);
    const b = new InjectBrowser(t);
    const signIn = await open(b, '/t/pages/login');
    expect(signIn.body).toContain('href="http://gatehouse.test/t/pages/forgot-password"');
    expect(signIn.body).toContain('href="http://gatehouse.test/t/pages/signup"');
    expect(signIn.body).toContain('href="http://gatehouse.test/t/pages/passwordless"');
    const start = await open(b, '/t/pages/passwordless');
    const sent = await submit(b, start.body, '/passwordless/start', { email: 'pat@pages.test' });
    expect(sent.body).toContain('Check your email');
    const link = linkIn((await deliverAndRead(t.gh, sink, 'pat@pages.test')).text);
    expect(link).toContain('/t/pages/passwordless?token=');
    const page = await open(b, link);
    expect(b.jar.has('gh_session')).toBe(false);
    const signedIn = await submit(b, page.body, '/passwordless');
    expect(signedIn.status, signedIn.body).toBe(303);
    expect((await follow(b, signedIn)).body).toContain('pat@pages.test');
    // The link is spent.
    const again = await submit(b, page.body, '/passwordless');
    expect(again.status).toBe(410);
    expect(again.body).toContain('role="alert"');
  });

  it('passwordless with MFA: the link is the first factor, the hosted second step finishes the sign-in', async () => {
    expect((await register(t, 'pages', 'mia@pages.test')).statusCode).toBe(201);
    const access = (await login(t, 'pages', 'mia@pages.test')).json().access_token;
    const started = await t.app.inject({ method: 'POST', url: '/t/pages/api/v1/me/mfa/totp', headers: bearer(access) });
    const secret = started.json().secret as string;
    expect((await t.app.inject({ method: 'POST', url: '/t/pages/api/v1/me/mfa/totp/verify', headers: bearer(access), payload: { code: totpCode(secret) } })).statusCode).toBe(200);
    const b = new InjectBrowser(t);
    const start = await open(b, '/t/pages/passwordless');
    await submit(b, start.body, '/passwordless/start', { email: 'mia@pages.test' });
    const page = await open(b, linkIn((await deliverAndRead(t.gh, sink, 'mia@pages.test')).text));
    const toMfa = await submit(b, page.body, '/passwordless');
    expect(toMfa.location).toBe('http://gatehouse.test/t/pages/login/mfa');
    expect(b.jar.has('gh_session')).toBe(false);
    const mfa = await follow(b, toMfa);
    expect(mfa.body).toContain('Two-step verification');
    const wrong = await submit(b, mfa.body, '/login/mfa', { code: '000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('role="alert"');
    // The same 30-second step the enrollment used cannot be replayed: take the next one.
    const code = totpCode(secret, Date.now() + 30_000);
    const done = await submit(b, mfa.body, '/login/mfa', { code });
    expect(done.status, done.body).toBe(303);
    expect(b.jar.has('gh_session')).toBe(true);
    expect((await follow(b, done)).body).toContain('mia@pages.test');
  });

  it('MFA required, grace over: the magic link and the sign-up continue at the hosted enrollment step, then to the account', async () => {
    const keyOf = (html: string) => /<code id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(html)![1]!.replaceAll(' ', '');
    // Sign-up: the account is created, and instead of a session the enrollment step.
    const signup = new InjectBrowser(t);
    const made = await submit(signup, (await open(signup, '/t/pages-mfa/signup')).body, '/signup', { email: 'rey@pages.test', password: NEW_PASSWORD });
    expect(made.location).toBe('http://gatehouse.test/t/pages-mfa/login/mfa/enroll');
    expect(signup.jar.has('gh_session')).toBe(false);
    const signupEnroll = await follow(signup, made);
    expect(signupEnroll.body).toContain('Set up two-step verification');
    const signedUp = await submit(signup, signupEnroll.body, '/login/mfa/enroll', { code: totpCode(keyOf(signupEnroll.body)) });
    expect(signedUp.status, signedUp.body).toBe(200);
    expect(signedUp.body).toContain('<form method="get" action="http://gatehouse.test/t/pages-mfa/account">');
    expect((await open(signup, 'http://gatehouse.test/t/pages-mfa/account')).body).toContain('rey@pages.test');

    // The magic link of a user without a factor.
    const b = new InjectBrowser(t);
    expect((await register(t, 'pages-mfa', 'rey2@pages.test')).json()).toMatchObject({ mfa_enrollment_required: true });
    await submit(b, (await open(b, '/t/pages-mfa/passwordless')).body, '/passwordless/start', { email: 'rey2@pages.test' });
    const page = await open(b, linkIn((await deliverAndRead(t.gh, sink, 'rey2@pages.test')).text));
    const toEnroll = await submit(b, page.body, '/passwordless');
    expect(toEnroll.location).toBe('http://gatehouse.test/t/pages-mfa/login/mfa/enroll');
    const enroll = await follow(b, toEnroll);
    expect(enroll.status).toBe(200);
    expect(enroll.body).toContain('<div class="qr" aria-hidden="true"><svg');
    const wrong = await submit(b, enroll.body, '/login/mfa/enroll', { code: '12345' });
    expect(wrong.status).toBe(400);
    const done = await submit(b, enroll.body, '/login/mfa/enroll', { code: totpCode(keyOf(enroll.body)) });
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Save your backup codes');
    expect(b.jar.has('gh_session')).toBe(true);
    const [session] = await tenantQuery<{ amr: string[]; aal: number }>(t, ids.required!, `SELECT s.amr, s.aal FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'rey2@pages.test' AND s.revoked_at IS NULL`);
    expect(session).toEqual({ amr: expect.arrayContaining(['email', 'otp']), aal: 2 });
  });

  it('sign-up: open registration signs in; required verification says "check your mail"; closed registration refuses', async () => {
    const b = new InjectBrowser(t);
    const page = await open(b, '/t/pages/signup');
    const made = await submit(b, page.body, '/signup', { email: 'sam@pages.test', name: 'Sam', password: NEW_PASSWORD });
    expect(made.status, made.body).toBe(303);
    expect((await follow(b, made)).body).toContain('sam@pages.test');

    const strict = new InjectBrowser(t);
    const strictPage = await open(strict, '/t/pages-strict/signup');
    const pending = await submit(strict, strictPage.body, '/signup', { email: 'sue@pages.test', password: NEW_PASSWORD });
    expect(pending.status).toBe(200);
    expect(pending.body).toContain('We sent a link to confirm your email address');
    expect(strict.jar.has('gh_session')).toBe(false);
    expect(linkIn((await deliverAndRead(t.gh, sink, 'sue@pages.test')).text)).toContain('/t/pages-strict/verify-email?token=');

    const closed = await open(new InjectBrowser(t), '/t/pages-closed/signup', 403);
    expect(closed.body).toContain('does not accept new sign-ups');
    expect((await open(new InjectBrowser(t), '/t/pages-closed/login')).body).not.toContain('/signup"');
  });
});
