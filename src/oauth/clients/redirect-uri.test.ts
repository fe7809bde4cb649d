import { describe, expect, it } from 'vitest';
import { matchRedirectUri, redirectUriProblem } from './redirect-uri.ts';

describe('redirect URIs', () => {
  const registered = ['https://app.example/cb', 'http://127.0.0.1/native/cb', 'com.example.app:/oauth'];

  it('matches exactly, never by prefix, path, query, case, scheme or port', () => {
    expect(matchRedirectUri(registered, 'https://app.example/cb')).toBe(true);
    for (const bad of [
      'https://app.example/cb/',
      'https://app.example/cb?x=1',
      'https://app.example/CB',
      'http://app.example/cb',
      'https://app.example:8443/cb',
      'https://app.example/cb#frag',
      'https://app.example.evil/cb',
      'https://app.example/c',
    ]) {
      expect(matchRedirectUri(registered, bad), bad).toBe(false);
    }
  });

  it('lets a loopback IP redirect vary its port only (RFC 8252 §7.3)', () => {
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/native/cb')).toBe(true);
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/native/cb2')).toBe(false);
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/native/cb?x=1')).toBe(false);
    expect(matchRedirectUri(registered, 'http://localhost:51234/native/cb')).toBe(false);
    expect(matchRedirectUri(['https://app.example/cb'], 'https://app.example:1/cb')).toBe(false);
  });

  it('refuses plain http off loopback, fragments and credentials at registration', () => {
    expect(redirectUriProblem('https://app.example/cb')).toBeUndefined();
    expect(redirectUriProblem('http://127.0.0.1:3000/cb')).toBeUndefined();
    expect(redirectUriProblem('com.example.app:/oauth')).toBeUndefined();
    expect(redirectUriProblem('http://app.example/cb')).toMatch(/https/);
    expect(redirectUriProblem('https://app.example/cb#x')).toMatch(/fragment/);
    expect(redirectUriProblem('https://u:p@app.example/cb')).toMatch(/credentials/);
    expect(redirectUriProblem('/relative')).toMatch(/absolute/);
    expect(redirectUriProblem('javascript:alert(1)')).toBeDefined();
  });
});
