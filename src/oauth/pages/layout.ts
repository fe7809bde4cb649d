import { createHash } from 'node:crypto';

/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A trusted HTML fragment, so pages compose without double escaping. */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** Tagged template: interpolations are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    const part = Array.isArray(v) ? v.map((x) => (x instanceof Html ? x.value : esc(x))).join('') : v instanceof Html ? v.value : esc(v);
    out += part + strings[i + 1]!;
  });
  return new Html(out);
}

/** Tenant branding the pages use (tenant.branding): an accent colour and an https logo, both validated. */
export interface Brand {
  color?: string;
  logo?: string;
}

export function brandOf(tenant: { branding?: Record<string, string> } | null | undefined): Brand {
  const b = tenant?.branding ?? {};
  const brand: Brand = {};
  if (typeof b.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(b.color)) brand.color = b.color.toLowerCase();
  if (typeof b.logo_url === 'string') {
    try {
      if (new URL(b.logo_url).protocol === 'https:') brand.logo = new URL(b.logo_url).href;
    } catch {
      // not a URL: no logo
    }
  }
  return brand;
}

const BASE_STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2433}
main{max-width:26rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
@media (max-width:30rem){main{margin:0;min-height:100vh;border-radius:0;box-shadow:none}}
h1{font-size:1.35rem;margin:0 0 .25rem}.tenant{color:#5b6475;margin:0 0 1.5rem;font-size:.95rem}
label{display:block;font-weight:600;margin:1rem 0 .35rem}input[type=email],input[type=password]{width:100%;padding:.65rem .75rem;font:inherit;border:1px solid #b8bfcc;border-radius:8px}
input:focus,button:focus{outline:3px solid #8fb3ff;outline-offset:1px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer}
img.logo{max-height:3rem;max-width:100%;margin-bottom:1rem}
button.secondary{background:#e6e9ef;color:#1d2433;margin-top:.75rem}
.error{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:.75rem;margin:0 0 1rem}ul.scopes{padding-left:1.2rem}code{word-break:break-all}
.error ul{margin:.25rem 0 0;padding-left:1.2rem}input[type=text]{width:100%;padding:.65rem .75rem;font:inherit;border:1px solid #b8bfcc;border-radius:8px}
a{color:var(--accent)}p.links{margin:1.25rem 0 0;display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;font-size:.95rem}
.ok{background:#e8f6ec;color:#1c5e2f;border-radius:8px;padding:.75rem;margin:0 0 1rem}
nav.account{display:flex;flex-wrap:wrap;gap:.35rem 1rem;margin:0 0 1.25rem;padding-bottom:.75rem;border-bottom:1px solid #e6e9ef}
nav.account a[aria-current=page]{font-weight:700;color:#1d2433;text-decoration:none}
ul.items{list-style:none;padding:0;margin:0}ul.items li{border:1px solid #e6e9ef;border-radius:8px;padding:.75rem;margin:0 0 .75rem}
ul.items li button,form.inline button{width:auto;margin-top:.5rem;padding:.45rem .9rem}.muted{color:#5b6475;font-size:.9rem}
.qr svg{display:block;width:100%;max-width:14rem;height:auto;margin:0 auto}ol.codes{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.35rem 1rem;font:.85rem/1.6 ui-monospace,monospace}ol.codes code{white-space:nowrap;word-break:normal}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}section.choice{border-bottom:1px solid #e6e9ef;padding-bottom:1.5rem}
`;
const DEFAULT_ACCENT = '#2f5bea';
/** The page's one stylesheet, with the tenant's accent colour (validated hex, so it cannot break out of CSS). */
const styleFor = (brand: Brand) => `:root{--accent:${brand.color ?? DEFAULT_ACCENT}}${BASE_STYLE}`;
const hashes = new Map<string, string>();
function styleHash(brand: Brand): string {
  const css = styleFor(brand);
  let h = hashes.get(css);
  if (!h) {
    h = createHash('sha256').update(css).digest('base64');
    if (hashes.size < 10_000) hashes.set(css, h);
  }
  return h;
}

/**
 * Content-Security-Policy of every hosted page: nothing loads but the one inline style (by hash); no scripts, no
 * framing (clickjacking), no <base>. Forms post to the same origin; browsers also apply form-action to the redirects
 * that follow a submission, so a page whose form ends at the client names that redirect URI's origin too.
 */
export function pageCsp(formTarget?: string, brand: Brand = {}, scriptHash?: string): string {
  let extra = '';
  if (formTarget) {
    const u = new URL(formTarget);
    extra = ' ' + (u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : u.protocol);
  }
  const img = brand.logo ? `; img-src ${new URL(brand.logo).origin}` : '';
  const script = scriptHash ? `; script-src 'sha256-${scriptHash}'` : '';
  return `default-src 'none'; style-src 'sha256-${styleHash(brand)}'${img}${script}; form-action 'self'${extra}; frame-ancestors 'none'; base-uri 'none'`;
}

const formTargets = new WeakMap<object, string>();
/** Declares where this response's form may finally lead (the client's redirect URI), for pageCsp. */
export function allowFormTarget(request: object, uri: string) {
  formTargets.set(request, uri);
}
export const formTargetOf = (request: object) => formTargets.get(request);

const scripts = new WeakMap<object, string>();
/** Declares the one inline script this response's page runs (its SHA-256, base64), for pageCsp: passkey pages only. */
export function allowScript(request: object, sha256Base64: string) {
  scripts.set(request, sha256Base64);
}
export const scriptOf = (request: object) => scripts.get(request);

export function page(opts: { title: string; tenantName: string; body: Html; lang?: string; brand?: Brand }): string {
  const brand = opts.brand ?? {};
  const logo = brand.logo ? html`<img class="logo" src="${brand.logo}" alt="${opts.tenantName}">` : '';
  return `<!doctype html>
<html lang="${esc(opts.lang ?? 'en')}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(opts.title)} · ${esc(opts.tenantName)}</title><style>${styleFor(brand)}</style></head>
<body><main>${html`${logo}<h1>${opts.title}</h1><p class="tenant">${opts.tenantName}</p>`.value}${opts.body.value}</main></body></html>`;
}
