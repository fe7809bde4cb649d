/**
 * The little of node-oidc-provider's API the benchmark's limit process uses (the package ships no types and there
 * is no @types package for v9).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Model {
    save(): Promise<string>;
  }
  interface GrantModel extends Model {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
  }
  interface ClientModel {
    clientId: string;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    Client: { find(id: string): Promise<ClientModel | undefined> };
    Grant: new (data: { accountId: string; clientId: string }) => GrantModel;
    RefreshToken: new (data: Record<string, unknown>) => Model;
  }
}
