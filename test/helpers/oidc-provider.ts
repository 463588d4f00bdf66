/**
 * A real OpenID provider for the console's single sign-on tests: panva's oidc-provider on
 * 127.0.0.1 (port 0) with one confidential client and its development sign-in pages (any login
 * name is accepted, no password checked). Its issuer is named `localhost`, so the console (on
 * 127.0.0.1) and the provider are different sites for the browser, as in a deployment.
 *
 * The console's redirect URI is known only once the console listens, and the console needs the
 * issuer's URL before that: so the server listens first and the provider is built by `serve`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type AccountClaims } from 'oidc-provider';

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Answers as a provider whose one client returns to `redirectUri`. */
  serve(redirectUri: string): void;
  close(): Promise<void>;
}

/**
 * `claimsOf(login)`: the claims of whoever signs in as `login` at the provider's page
 * (default: preferred_username = login).
 */
export async function startTestProvider(
  claimsOf: (login: string) => Omit<AccountClaims, 'sub'> = (login) => ({ preferred_username: login }),
): Promise<TestProvider> {
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
  const clientId = 'fraud-console';
  const clientSecret = randomBytes(24).toString('base64url');
  return {
    issuer,
    clientId,
    clientSecret,
    serve(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, ...claimsOf(sub) }) }),
        claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
        cookies: { keys: [randomBytes(16).toString('hex')] },
      });
      handler = provider.callback();
    },
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
