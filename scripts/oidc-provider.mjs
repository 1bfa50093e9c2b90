// A real OpenID Connect provider for the test suite: oidc-provider (a certified
// implementation) with its built-in development login and consent pages. Any login
// name signs in (the password is not checked); the account id is the login name.
//
//   node scripts/oidc-provider.mjs PORT
//
// OIDC_EXTRA_REDIRECT_URIS (space-separated) adds web callbacks to `echostream-web`
// (the playground's browser test registers the gateway's own page).
//
// Clients: `echostream-web` (confidential; web redirect) and `echostream-mobile`
// (public, PKCE; an app redirect scheme).
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.OIDC_PROVIDER_MODULES ?? process.cwd()}/package.json`);
const { default: Provider } = await import(require.resolve('oidc-provider'));

const port = Number(process.argv[2] ?? 9400);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'echostream-web',
      client_secret: 'echostream-web-secret',
      // EchoStream's backend client serves web callbacks and app redirect schemes
      // (mobile apps that let the backend finish the flow); "native" allows both.
      application_type: 'native',
      redirect_uris: [
        'http://127.0.0.1:3000/oauth/callback',
        'com.echostream.app:/oauth',
        ...(process.env.OIDC_EXTRA_REDIRECT_URIS ?? '').split(' ').filter(Boolean),
      ],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'echostream-mobile',
      application_type: 'native',
      redirect_uris: ['com.echostream.app:/oauth'],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'none',
    },
  ],
  pkce: { required: () => true },
  // Put the granted claims (email, name) in the ID token itself, as Google does.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@oidc.example`, email_verified: true, name: id, preferred_username: id };
      },
    };
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
