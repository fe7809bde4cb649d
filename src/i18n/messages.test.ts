import { describe, expect, it } from 'vitest';
import { errorCodes, type ErrorCode } from '../errors/codes.ts';
import { negotiateLocale } from './locale.ts';
import { humanDuration, translate } from './messages.ts';

describe('locale negotiation', () => {
  it.each([
    [undefined, 'en'],
    ['pt-BR,pt;q=0.9,en;q=0.8', 'pt-BR'],
    ['pt', 'pt-BR'],
    ['fr-FR, en;q=0.5', 'en'],
    ['en;q=0.3, pt-PT;q=0.9', 'pt-BR'],
    ['de, fr', 'en'],
    ['pt-BR;q=0', 'en'],
  ])('%s → %s', (header, expected) => {
    expect(negotiateLocale(header)).toBe(expected);
  });

  it("prefers the user's own locale", () => {
    expect(negotiateLocale('en', 'pt-BR')).toBe('pt-BR');
    expect(negotiateLocale('pt-BR', 'xx')).toBe('pt-BR');
  });
});

describe('messages', () => {
  it('has a pt-BR text for every error code, different from English', () => {
    for (const code of Object.keys(errorCodes) as ErrorCode[]) {
      const pt = translate('pt-BR', code);
      expect(pt, code).not.toBe(errorCodes[code].message);
    }
  });

  it("renders seed 001's wait messages with the wait rounded up to minutes", () => {
    expect(translate('en', 'RATE_LIMITED.login', { waitSeconds: 300 })).toBe('Too many login attempts. Please try again in 5 minutes.');
    expect(translate('en', 'RATE_LIMITED.wait', { waitSeconds: 61 })).toBe('Please wait 2 minutes before trying again.');
    expect(translate('pt-BR', 'RATE_LIMITED.login', { waitSeconds: 60 })).toBe('Muitas tentativas de login. Tente novamente em 1 minuto.');
    expect(humanDuration('en', 1)).toBe('1 second');
    expect(humanDuration('pt-BR', 30)).toBe('30 segundos');
  });

  it('keeps the categories to the four of seed 001', () => {
    const cats = new Set(Object.values(errorCodes).map((c) => c.category));
    expect([...cats].sort()).toEqual(['authentication', 'rate_limiting', 'session', 'system']);
  });
});
