import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';
import { negotiateLocale, type Locale } from '../i18n/locale.ts';
import { translate } from '../i18n/messages.ts';
import { browserBinding, BROWSER_COOKIE } from '../oauth/authorize/browser-session.ts';
import { OAuthError } from '../oauth/oauth-error.ts';
import { brandOf, Html, html, page } from '../oauth/pages/layout.ts';
import { hasText, text, type TextKey } from '../oauth/pages/page-text.ts';
import { constantTimeEqual, sha256 } from '../shared/crypto.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/**
 * The self-service pages at the tenant root (reset, verify, invitation, sign-up, account): server-rendered forms in
 * the OAuth pages' layout, working without scripts. Every page answers `no-store` and `no-referrer` (many of their
 * URLs carry a mailed token, which must not leak through the Referer header or a shared cache).
 */
export interface PageCtx {
  tenant: ResolvedTenant;
  locale: Locale;
  t: (key: TextKey) => string;
}

export function pageCtx(tenant: ResolvedTenant, request: FastifyRequest): PageCtx {
  const locale = negotiateLocale(request.headers['accept-language']);
  return { tenant, locale, t: (key) => text(locale, key) };
}

export function sendPage(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').send(body);
}

/** See-other redirect to a page of the tenant (never to a foreign origin). */
export function seeOther(reply: FastifyReply, url: string) {
  return reply.code(303).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(url, 303);
}

/**
 * CSRF for the self-service forms: a double-submit value bound to the browser. The form carries a digest of the
 * httpOnly, SameSite=Lax browser-binding cookie; a POST must present both, so another site can neither read the
 * value nor send the cookie along with a cross-site form.
 */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant): string {
  return sha256(`hosted-csrf:${browserBinding(request, reply, tenant)}`);
}

export function checkCsrf(ctx: PageCtx, request: FastifyRequest, body: Record<string, string>): void {
  const cookie = request.cookies[BROWSER_COOKIE];
  const ok = !!cookie && !!body.csrf && constantTimeEqual(body.csrf, sha256(`hosted-csrf:${cookie}`));
  if (!ok) throw new OAuthError('invalid_request', ctx.t('hosted.csrf'), { status: 403, allowRedirect: false });
}

/** A refused service call as the page shows it: password-policy violations one per rule, others in the user's language. */
export function errorView(ctx: PageCtx, err: unknown): Html {
  if (!(err instanceof AppError) || !err.expose) throw err;
  if (err.code === 'PASSWORD_POLICY' && err.details?.length) {
    const rules = err.details.map((d) => {
      const key = `policy.${d.code ?? ''}`;
      return html`<li>${hasText(key) ? ctx.t(key) : d.message}</li>`;
    });
    return html`${ctx.t('policy.intro')}<ul>${rules}</ul>`;
  }
  return html`${err.messageKey ? translate(ctx.locale, err.messageKey, err.params) : err.message}`;
}

export interface Field {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  autocomplete?: string;
  value?: string | null;
  required?: boolean;
  inputmode?: string;
  maxlength?: number;
}

function fieldHtml(f: Field, error: boolean, first: boolean): Html {
  const describedBy = error ? html` aria-describedby="form-error" aria-invalid="true"` : '';
  return html`<label for="${f.name}">${f.label}</label>
  <input id="${f.name}" name="${f.name}" type="${f.type ?? 'text'}"${f.autocomplete ? html` autocomplete="${f.autocomplete}"` : ''}${
    f.inputmode ? html` inputmode="${f.inputmode}"` : ''
  } maxlength="${f.maxlength ?? (f.type === 'password' ? 4096 : 254)}"${f.required === false ? '' : html` required`}${f.value ? html` value="${f.value}"` : ''}${describedBy}${
    first ? html` autofocus` : ''
  }>`;
}

/** One form page: intro, the error (announced), the fields in reading order, one submit button, then links. */
export function formPage(
  ctx: PageCtx,
  o: {
    title: string;
    intro?: Html | string;
    notice?: string;
    error?: Html | string | undefined;
    action: string;
    csrf: string;
    hidden?: Record<string, string>;
    fields: Field[];
    submit: string;
    links?: Html;
    nav?: Html;
    before?: Html;
    /** Focus the first field on load (default); off where something above it comes first (the page would scroll past it). */
    autofocus?: boolean;
  },
): string {
  const hidden = Object.entries(o.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  const err = !!o.error;
  return page({
    lang: ctx.locale,
    brand: brandOf(ctx.tenant),
    title: o.title,
    tenantName: ctx.tenant.name,
    body: html`${o.nav ?? ''}${o.notice ? html`<p class="ok" role="status">${o.notice}</p>` : ''}${o.error ? html`<div class="error" role="alert" id="form-error">${o.error}</div>` : ''}${
      o.intro ? html`<p>${o.intro}</p>` : ''
    }${o.before ?? ''}
<form method="post" action="${o.action}" novalidate>
  <input type="hidden" name="csrf" value="${o.csrf}">${hidden}
  ${o.fields.map((f, i) => fieldHtml(f, err, i === 0 && o.autofocus !== false))}
  <button type="submit">${o.submit}</button>
</form>${o.links ?? ''}`,
  });
}

/** A page with a message (and optional links): "check your mail", "done", "link invalid". */
export function messagePage(ctx: PageCtx, o: { title: string; message: string; error?: boolean; links?: Html }): string {
  return page({
    lang: ctx.locale,
    brand: brandOf(ctx.tenant),
    title: o.title,
    tenantName: ctx.tenant.name,
    body: html`${o.error ? html`<p class="error" role="alert">${o.message}</p>` : html`<p role="status">${o.message}</p>`}${o.links ?? ''}`,
  });
}

export function links(items: [string, string][]): Html {
  return html`<p class="links">${items.map(([href, label]) => html`<a href="${href}">${label}</a>`)}</p>`;
}

/** A token from the query: bounded and of the alphabet tokens use; anything else is treated as missing. */
export function queryToken(request: FastifyRequest): string {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const token = typeof q.token === 'string' ? q.token : '';
  return /^[A-Za-z0-9_-]{1,200}$/.test(token) ? token : '';
}

export const bodyOf = (request: FastifyRequest) => (request.body ?? {}) as Record<string, string>;
