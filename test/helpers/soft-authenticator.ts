import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/*
 * A software WebAuthn authenticator for the HTTP tests: it answers the options Gatehouse gives with what a real
 * authenticator and browser would send (packed-less "none" attestation, ES256 keys, real signatures), so the
 * server side runs unmodified. The browser test uses Chromium's own virtual authenticator instead.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { [k: string]: Cbor };

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Minimal CBOR (RFC 8949) encoder: integers, byte and text strings, arrays, maps. */
export function cbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

interface SoftCredential {
  id: Buffer;
  key: KeyObject;
  userHandle: string;
  rpId: string;
  counter: number;
}

export interface SoftOptions {
  origin: string;
  /** Backup eligible: a synced passkey (multi-device). Default false: a device-bound key. */
  backupEligible?: boolean;
  /** The UV flag (PIN / biometrics performed). Default true. */
  userVerified?: boolean;
  /** Whether the signature counter counts. Default true; synced passkeys usually send 0. */
  counts?: boolean;
}

const flagsOf = (o: Required<Omit<SoftOptions, 'origin'>>, attested: boolean) =>
  0x01 | (o.userVerified ? 0x04 : 0) | (o.backupEligible ? 0x18 : 0) | (attested ? 0x40 : 0);

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly opts: Required<Omit<SoftOptions, 'origin'>> & { origin: string };

  constructor(o: SoftOptions) {
    this.opts = { backupEligible: false, userVerified: true, counts: true, ...o };
  }

  /** Another authenticator holding copies of this one's keys and counters: a clone. */
  clone(): SoftAuthenticator {
    const c = new SoftAuthenticator(this.opts);
    c.credentials.push(...this.credentials.map((x) => ({ ...x })));
    return c;
  }

  /** navigator.credentials.create() with the server's creation options; returns credential.toJSON(). */
  create(options: { challenge: string; rp: { id?: string }; user: { id: string } }, o: { origin?: string; challenge?: string } = {}) {
    const rpId = options.rp.id!;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cred: SoftCredential = { id: randomBytes(32), key: privateKey, userHandle: options.user.id, rpId, counter: 0 };
    this.credentials.push(cred);
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const cose = cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, 'base64url')], [-3, Buffer.from(jwk.y, 'base64url')]]));
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(cred.id.length);
    const authData = Buffer.concat([
      createHash('sha256').update(rpId).digest(),
      Buffer.from([flagsOf(this.opts, true)]),
      Buffer.alloc(4),
      Buffer.alloc(16), // aaguid: none
      idLen,
      cred.id,
      cose,
    ]);
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.create', challenge: o.challenge ?? options.challenge, origin: o.origin ?? this.opts.origin, crossOrigin: false }),
    );
    const attestationObject = cbor({ fmt: 'none', attStmt: {}, authData });
    return {
      id: b64u(cred.id),
      rawId: b64u(cred.id),
      type: 'public-key' as const,
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(attestationObject),
        transports: ['internal', 'hybrid'],
      },
    };
  }

  /**
   * navigator.credentials.get() with the server's request options. Picks the first of its credentials the options
   * allow (any, for usernameless), or the one named.
   */
  get(
    options: { challenge: string; rpId?: string; allowCredentials?: { id: string }[] },
    o: { credentialId?: string; origin?: string; counter?: number; omitUserHandle?: boolean } = {},
  ) {
    const allowed = options.allowCredentials?.map((c) => c.id);
    const cred = this.credentials.find(
      (c) => c.rpId === options.rpId && (o.credentialId ? b64u(c.id) === o.credentialId : !allowed || allowed.includes(b64u(c.id))),
    );
    if (!cred) throw new Error('NotAllowedError: no credential for these options');
    if (this.opts.counts) cred.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(o.counter ?? cred.counter);
    const authData = Buffer.concat([createHash('sha256').update(cred.rpId).digest(), Buffer.from([flagsOf(this.opts, false)]), counter]);
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: o.origin ?? this.opts.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), cred.key);
    return {
      id: b64u(cred.id),
      rawId: b64u(cred.id),
      type: 'public-key' as const,
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        ...(o.omitUserHandle ? {} : { userHandle: cred.userHandle }),
      },
    };
  }
}
