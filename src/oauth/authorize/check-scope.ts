import { parseScope, type ClientRow } from '../clients/client.model.ts';
import { InvalidScope } from '../oauth-error.ts';

/** Requested scopes must all be the client's; none requested means none (not "all of them"). */
export function checkScope(client: Pick<ClientRow, 'scopes'>, scope: string | undefined): string[] {
  const requested = parseScope(scope);
  const refused = requested.filter((s) => !client.scopes.includes(s));
  if (refused.length) throw InvalidScope(`The application may not request: ${refused.join(' ').slice(0, 200)}.`);
  return requested;
}
