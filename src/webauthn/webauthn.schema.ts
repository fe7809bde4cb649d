/** JSON schemas of the passkey routes: WebAuthn's JSON forms (WebAuthn L3 §5.1.8/§5.1.9 toJSON) as the wire format. */
const b64url = (max: number) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]*$', maxLength: max }) as const;

const credentialDescriptor = {
  type: 'object',
  properties: { id: { type: 'string' }, type: { type: 'string' }, transports: { type: 'array', items: { type: 'string' } } },
} as const;

export const creationOptionsSchema = {
  type: 'object',
  description: 'PublicKeyCredentialCreationOptionsJSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON()',
  properties: {
    challenge: { type: 'string' },
    rp: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
    user: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, displayName: { type: 'string' } } },
    pubKeyCredParams: { type: 'array', items: { type: 'object', properties: { alg: { type: 'integer' }, type: { type: 'string' } } } },
    timeout: { type: 'integer' },
    attestation: { type: 'string' },
    excludeCredentials: { type: 'array', items: credentialDescriptor },
    authenticatorSelection: {
      type: 'object',
      properties: {
        authenticatorAttachment: { type: 'string' },
        residentKey: { type: 'string' },
        requireResidentKey: { type: 'boolean' },
        userVerification: { type: 'string' },
      },
    },
    extensions: { type: 'object', properties: { credProps: { type: 'boolean' } } },
    hints: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const requestOptionsSchema = {
  type: 'object',
  description: 'PublicKeyCredentialRequestOptionsJSON: pass to PublicKeyCredential.parseRequestOptionsFromJSON()',
  properties: {
    challenge: { type: 'string' },
    rpId: { type: 'string' },
    timeout: { type: 'integer' },
    userVerification: { type: 'string' },
    allowCredentials: { type: 'array', items: credentialDescriptor },
  },
} as const;

export const assertionOptionsSchema = {
  type: 'object',
  properties: {
    challenge_id: { type: 'string', description: 'Opaque; send it back with the response. Single use, valid 5 minutes.' },
    options: requestOptionsSchema,
  },
} as const;

const extensionResults = { type: 'object', additionalProperties: true, maxProperties: 20 } as const;

/** RegistrationResponseJSON: what `credential.toJSON()` gives after navigator.credentials.create(). */
export const registrationResponseSchema = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  additionalProperties: true,
  properties: {
    id: b64url(1400),
    rawId: b64url(1400),
    type: { type: 'string', const: 'public-key' },
    authenticatorAttachment: { type: ['string', 'null'], maxLength: 32 },
    clientExtensionResults: extensionResults,
    response: {
      type: 'object',
      required: ['clientDataJSON', 'attestationObject'],
      additionalProperties: true,
      properties: {
        clientDataJSON: b64url(8192),
        attestationObject: b64url(32768),
        transports: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } },
      },
    },
  },
} as const;

/** AuthenticationResponseJSON: what `credential.toJSON()` gives after navigator.credentials.get(). */
export const authenticationResponseSchema = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  additionalProperties: true,
  properties: {
    id: b64url(1400),
    rawId: b64url(1400),
    type: { type: 'string', const: 'public-key' },
    authenticatorAttachment: { type: ['string', 'null'], maxLength: 32 },
    clientExtensionResults: extensionResults,
    response: {
      type: 'object',
      required: ['clientDataJSON', 'authenticatorData', 'signature'],
      additionalProperties: true,
      properties: {
        clientDataJSON: b64url(8192),
        authenticatorData: b64url(8192),
        signature: b64url(4096),
        userHandle: { type: ['string', 'null'], pattern: '^[A-Za-z0-9_-]*$', maxLength: 128 },
      },
    },
  },
} as const;

export const credentialSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    aaguid: { type: 'string', description: 'Authenticator model (all zeros when the authenticator does not say)' },
    device_type: { type: 'string', enum: ['single_device', 'multi_device'], description: 'multi_device: a synced passkey' },
    backed_up: { type: 'boolean' },
    transports: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const credentialNameField = { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' } as const;
