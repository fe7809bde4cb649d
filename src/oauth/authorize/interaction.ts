import type { KvStore } from '../../kv/kv-store.ts';
import { randomToken } from '../../shared/crypto.ts';

/** How long a user has to sign in and consent once /authorize sent them to the hosted pages. */
export const INTERACTION_TTL_SECONDS = 600;

/** A validated authorization request, as the code will be bound to it. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string;
  prompt: string[];
  maxAge: number | null;
  loginHint: string | null;
  /** acr_values asked for a second factor (urn:gatehouse:aal2): an aal1 browser session steps up first. */
  requireAal2?: boolean;
  /** The client's ui_locales: the hosted pages' language, before the browser's Accept-Language. */
  uiLocales?: string | null;
}

/**
 * The persisted step between /authorize and the code: which request, which browser started it (digest of the
 * binding cookie), its CSRF token, and whether the user signed in during it (prompt=login, max_age).
 */
export interface Interaction {
  id: string;
  tenantId: string;
  request: AuthorizationRequest;
  bindingHash: string;
  csrf: string;
  /** Set once the user signed in on this interaction's login page. */
  sessionId: string | null;
  /** Sign-in demanded although a session may exist (prompt=login, max_age exceeded). */
  forceLogin: boolean;
  /** The password passed and a second factor is due: the MFA challenge token, kept server-side. */
  mfaToken?: string | null;
  /** The password passed but the tenant's policy wants a factor enrolled first: the enrollment challenge token. */
  mfaEnrollToken?: string | null;
}

const key = (tenantId: string, id: string) => `oauth:interaction:${tenantId}:${id}`;

export async function createInteraction(kv: KvStore, i: Omit<Interaction, 'id' | 'csrf' | 'sessionId'>): Promise<Interaction> {
  const interaction: Interaction = { ...i, id: randomToken(24), csrf: randomToken(24), sessionId: null };
  await kv.set(key(i.tenantId, interaction.id), JSON.stringify(interaction), INTERACTION_TTL_SECONDS);
  return interaction;
}

export async function loadInteraction(kv: KvStore, tenantId: string, id: string): Promise<Interaction | undefined> {
  if (!/^[A-Za-z0-9_-]{32}$/.test(id)) return undefined;
  const raw = await kv.get(key(tenantId, id));
  return raw ? (JSON.parse(raw) as Interaction) : undefined;
}

export async function saveInteraction(kv: KvStore, i: Interaction): Promise<void> {
  await kv.set(key(i.tenantId, i.id), JSON.stringify(i), INTERACTION_TTL_SECONDS);
}

/** Ends an interaction; only the caller that takes it may finish it (no double code issuance). */
export async function takeInteraction(kv: KvStore, i: Interaction): Promise<boolean> {
  return (await kv.take(key(i.tenantId, i.id))) !== null;
}
