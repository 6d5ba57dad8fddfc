// The OpenID Connect provider the tests sign in through: oidc-provider on loopback.
// Run as `node provider.mjs CONFIG.json`; the config names the issuer, port, clients,
// signing keys (made by the test, which can then sign tokens as the provider would)
// and the accounts' claims. Logging in uses oidc-provider's development interactions:
// any login name with any password; the name is the account's `sub`.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [config.cookie_key] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'staff'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], staff: ['staff_id'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(accounts[id] || {}) };
      },
    };
  },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600,
    Session: 600, Grant: 600,
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${config.issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
