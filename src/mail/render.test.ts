import { describe, expect, it } from 'vitest';
import { LOCALES } from '../i18n/locale.ts';
import { brandingOf, escapeHtml, renderMail } from './render.ts';
import { templateContent, type TemplateData, type TemplateName } from './templates.ts';

const HOSTILE = '<script>alert("x")</script>&\'';

/** One sample per template, every string field hostile, so escaping is checked everywhere a value lands. */
const samples: { [K in TemplateName]: TemplateData[K] } = {
  password_reset: { url: `https://id.example/reset?token=abc&x="${HOSTILE}`, minutes: 30 },
  password_changed: {},
  email_verification: { url: `https://id.example/verify?token=abc"${HOSTILE}`, hours: 24 },
  account_exists: { resetUrl: `https://id.example/forgot"${HOSTILE}` },
  invitation: { url: `https://id.example/invite?token=abc"${HOSTILE}`, role: HOSTILE, days: 7 },
  passwordless_link: { url: `https://id.example/pl?token=abc"${HOSTILE}`, minutes: 15 },
  passwordless_code: { code: '012345', minutes: 10 },
  email_change_confirm: { url: `https://id.example/chg?token=abc"${HOSTILE}`, newEmail: `a${HOSTILE}@b.test`, minutes: 60 },
  email_changed: { newEmail: `a${HOSTILE}@b.test` },
  account_locked: { minutes: 30 },
  security_alert: { summary: HOSTILE },
  backup_code_used: { remaining: 3 },
  mfa_reset: {},
  mfa_changed: { change: 'enabled' },
  admin_security_alert: { type: 'suspicious_login', severity: 'high', subject: `a${HOSTILE}@b.test`, consoleUrl: `https://id.example/t/x/api/v1/admin/security/alerts?${HOSTILE}` },
};

describe('mail rendering', () => {
  const brand = brandingOf({ name: `Acme ${HOSTILE}`, branding: { primary_color: '#abcdef', logo_url: 'https://cdn.example/logo.png?a=1&b=2' } });

  it('escapes text and attribute values', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('takes only safe branding: a #hex colour, an http(s) logo URL, else defaults', () => {
    expect(brand).toEqual({ name: `Acme ${HOSTILE}`, color: '#abcdef', logoUrl: 'https://cdn.example/logo.png?a=1&b=2' });
    const bad = brandingOf({ name: 'T', branding: { primary_color: 'red;background:url(x)', logo_url: 'javascript:alert(1)', display_name: '  Shown  ' } });
    expect(bad).toEqual({ name: 'Shown', color: '#1f6feb', logoUrl: null });
  });

  for (const locale of LOCALES) {
    for (const name of Object.keys(samples) as TemplateName[]) {
      it(`${name} (${locale}): subject, plain text and HTML, every value escaped`, () => {
        const content = templateContent(locale, name, samples[name] as never, brand.name);
        const m = renderMail(locale, brand, content);
        expect(m.subject.length).toBeGreaterThan(5);
        expect(m.subject).not.toMatch(/[\r\n]/);
        if (content.action) {
          expect(m.text).toContain(content.action.url);
          expect(m.html).toContain(`href="${escapeHtml(content.action.url)}"`);
        }
        if (content.code) {
          expect(m.text).toContain(content.code);
          expect(m.html).toContain(content.code);
        }
        // No raw hostile markup anywhere in the HTML; the escaped form is there instead.
        expect(m.html).not.toContain('<script>');
        expect(m.html).not.toContain('"x")');
        expect(m.html).toContain(escapeHtml(brand.name));
        expect(m.html).toContain(`lang="${locale}"`);
        expect(m.html).toContain('logo.png?a=1&amp;b=2');
      });
    }
  }

  it('every template is translated: the pt-BR subject differs from the English one', () => {
    for (const name of Object.keys(samples) as TemplateName[]) {
      const en = templateContent('en', name, samples[name] as never, 'T').subject;
      const pt = templateContent('pt-BR', name, samples[name] as never, 'T').subject;
      expect(pt, name).not.toBe(en);
    }
  });
});
