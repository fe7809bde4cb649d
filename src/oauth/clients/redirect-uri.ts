/**
 * Redirect URI rules. Registration: absolute, no fragment; https, or http only on a loopback host (native apps,
 * RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1). Matching is exact string comparison, with one
 * exception: a registered loopback IP redirect matches any port (RFC 8252 §7.3).
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

export function redirectUriProblem(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return 'is not an absolute URL';
  }
  if (u.hash || uri.includes('#')) return 'must not contain a fragment';
  if (u.username || u.password) return 'must not contain credentials';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') return LOOPBACK_HOSTS.has(u.hostname) || u.hostname === 'localhost' ? undefined : 'must use https (http only for loopback)';
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(u.protocol)) return undefined;
  return 'must use https, http on loopback, or a reverse-domain private scheme';
}

/**
 * A backchannel_logout_uri (OIDC Back-Channel Logout 1.0 §2.2): the redirect URI rules (https, or http on loopback;
 * no fragment, no credentials), but never a private-use scheme: Gatehouse itself POSTs to it.
 */
export function backchannelLogoutUriProblem(uri: string): string | undefined {
  const problem = redirectUriProblem(uri);
  if (problem) return problem;
  const { protocol } = new URL(uri);
  return protocol === 'https:' || protocol === 'http:' ? undefined : 'must use https (http only for loopback)';
}

function isLoopbackIp(u: URL): boolean {
  return u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
}

/** Is `presented` one of the registered redirect URIs? */
export function matchRedirectUri(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  let p: URL;
  try {
    p = new URL(presented);
  } catch {
    return false;
  }
  if (!isLoopbackIp(p) || presented.includes('#')) return false;
  return registered.some((r) => {
    const reg = new URL(r);
    if (!isLoopbackIp(reg)) return false;
    // Same URI but for the port: compare with both ports blanked.
    reg.port = '';
    const q = new URL(presented);
    q.port = '';
    return reg.href === q.href && /^http:\/\/(127\.0\.0\.1|\[::1\])(:\d+)?\//.test(presented);
  });
}
