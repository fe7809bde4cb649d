import type { PageCtx } from '../../hosted/hosted-page.ts';
import { html, type Html } from '../pages/layout.ts';
import { scopeLabel } from '../pages/consent-page.ts';
import type { ApplicationRow } from './applications.queries.ts';


const when = (d: Date) => new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/**
 * The "Connected apps" page content: each application with what it can do, when it was authorized and last used,
 * and a "Remove access" form (POST with the CSRF value) to `<issuer>/account/applications/<client_id>/revoke`.
 */
export function applicationsBody(ctx: PageCtx, apps: ApplicationRow[], o: { csrf: string; notice?: string | undefined; error?: Html | string | undefined }): Html {
  const t = ctx.t;
  const items = apps.map(
    (a) => html`<li><strong>${a.name}</strong>${a.first_party ? html` <span class="muted">(${t('apps.first_party')})</span>` : ''}
<p class="muted">${t('apps.can')}</p><ul class="scopes">${a.scopes.map((s) => html`<li>${scopeLabel(ctx.locale, s)}</li>`)}</ul>
<span class="muted">${t('apps.authorized')}: ${when(a.granted_at)}${a.last_used_at ? html` · ${t('apps.last_used')}: ${when(a.last_used_at)}` : ''}</span>
<form method="post" action="${ctx.tenant.issuer}/account/applications/${encodeURIComponent(a.client_id)}/revoke" class="inline"><input type="hidden" name="csrf" value="${o.csrf}"><button type="submit" class="secondary" aria-label="${t('apps.remove')}: ${a.name}">${t('apps.remove')}</button></form></li>`,
  );
  return html`${o.notice ? html`<p class="ok" role="status">${o.notice}</p>` : ''}${o.error ? html`<div class="error" role="alert">${o.error}</div>` : ''}
<p>${t('apps.intro')}</p>
${apps.length ? html`<ul class="items">${items}</ul>` : html`<p class="muted">${t('apps.none')}</p>`}`;
}
