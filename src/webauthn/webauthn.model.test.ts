import { describe, expect, it } from 'vitest';
import { amrFor, deviceTypeOf, userHandleOf } from './webauthn.model.ts';

describe('passkey amr', () => {
  it('a backup-eligible (synced) credential is a software-secured key, a device-bound one hardware-secured', () => {
    expect(amrFor(deviceTypeOf('multiDevice'))).toBe('swk');
    expect(amrFor(deviceTypeOf('singleDevice'))).toBe('hwk');
  });
});

describe('user handle', () => {
  it('is the 16 bytes of the user id', () => {
    const h = userHandleOf('0b5c9a3e-6f0e-4c1e-9a7d-2f1b8c3d4e5f');
    expect(h).toHaveLength(16);
    expect(Buffer.from(h).toString('hex')).toBe('0b5c9a3e6f0e4c1e9a7d2f1b8c3d4e5f');
  });
});
