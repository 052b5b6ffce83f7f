// provider.mjs starts oidc-provider, an OpenID-certified OpenID Provider, for
// oidcrp's interoperability suite (interop/*_test.go).
//
//	node provider.mjs CONFIG.json
//
// CONFIG.json, written by the Go test:
//
//	{
//	  "port": 40123,             // listens on 127.0.0.1:port; the issuer is http://HOST:port
//	  "host": "localhost",       // HOST: 127.0.0.1 (absent) or localhost, another site
//	  "accessTokenTTL": 5,       // seconds; 0 or absent: 600
//	  "requirePAR": true,        // every client must push its requests (RFC 9126);
//	                             // per client: require_pushed_authorization_requests
//	  "dpopNonce": true,         // DPoP proofs must carry the provider's nonce (RFC 9449)
//	  "clients": [ {...} ],      // client metadata (RFC 7591 names); grant types
//	                             // default to code + refresh_token, response types
//	                             // to code when the code grant is allowed
//	  "resourceServers": {       // resource indicators (RFC 8707) the provider
//	    "urn:...": {             // issues access tokens for: their audience,
//	      "audience": "...",     // scope and format ("jwt" or "opaque")
//	      "scope": "api:read",
//	      "format": "jwt"
//	    }
//	  }
//	}
//
// Besides the code flow it serves client credentials, the device flow
// (RFC 8628) and token exchange (RFC 8693), the last through a grant
// handler of the suite's own (registerGrantType below).
//
// It prints "READY <issuer>" once listening, one "EVENT <json>" line per
// event the tests may check (grants, back-channel logout, errors), and stops
// on SIGTERM, SIGINT, or when its standard input closes (the test ended).
// Everything else it says (warnings, errors) goes to standard error.

import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs CONFIG.json');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
if (!Number.isInteger(cfg.port) || cfg.port <= 0 || cfg.port > 65535) {
  console.error(`provider: bad port ${cfg.port}`);
  process.exit(2);
}
const host = '127.0.0.1';
if (cfg.host !== undefined && cfg.host !== host && cfg.host !== 'localhost') {
  console.error(`provider: bad host ${cfg.host}`);
  process.exit(2);
}
const issuer = `http://${cfg.host ?? host}:${cfg.port}`;
const accessTokenTTL = cfg.accessTokenTTL > 0 ? cfg.accessTokenTTL : 600;

// Where a start stands, on standard error: the tests print it when a
// provider is not ready in time.
const phase = (name) => console.error(`provider: ${name} ${Math.round(process.uptime() * 1000)} ms after the start`);

phase('config read');

// Fresh signing keys for every run: RS256 and ES256, so that clients can be
// registered for either algorithm.
//
// The key comes out of the generation as PKCS #8 and goes into a KeyObject
// of its own before it is exported as a JWK. Exporting the KeyObject that
// generateKeyPairSync returns deadlocks Node.js 20 now and then: that
// KeyObject shares its lock with the finished key-generation job, and a
// garbage collection during the export finalizes the job, which takes the
// lock the export holds (seen in CI: the main thread waiting in
// ~KeyGenJob<EcKeyGenTraits> under ExportJWKEcKey, for ever).
function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const jwk = createPrivateKey(privateKey).export({ format: 'jwk' });
  return { ...jwk, use: 'sig', alg, kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
  ],
};

const clients = (cfg.clients ?? []).map((c) => {
  const grantTypes = c.grant_types ?? ['authorization_code', 'refresh_token'];
  return {
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    ...c,
  };
});

// Every login name is an account: its sub, with profile and email claims
// derived from it.
async function findAccount(_ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name: `Interop ${sub}`,
        given_name: 'Interop',
        family_name: sub,
        preferred_username: sub,
        email: `${sub}@example.test`,
        email_verified: true,
      };
    },
  };
}

// oidc-provider refuses outgoing requests to special-use addresses (SSRF
// protection) by handing fetch a guarded dispatcher. The suite's relying
// parties listen on loopback, so requests to 127.0.0.1 go out on the default
// dispatcher; any other address keeps the guard.
function fetchAllowingLoopback(url, options) {
  if (['127.0.0.1', 'localhost'].includes(new URL(url).hostname)) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, options);
}

phase('keys generated');
const provider = new Provider(issuer, {
  clients,
  jwks,
  findAccount,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider accepts
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  ttl: {
    AccessToken: accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Grant: 3600,
    Session: 3600,
    RefreshToken: 3600,
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    // The resource-server side (examples/webapp's GET /api/me): access
    // tokens for the resources of cfg.resourceServers, JWT (RFC 9068) or
    // opaque, by client credentials; introspection (RFC 7662); DPoP-bound
    // tokens (RFC 9449). And the device flow (RFC 8628).
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // DPoP (RFC 9449): tokens bound when the client sends proofs, and
    // with cfg.dpopNonce, nonces required at the token endpoint and
    // userinfo (use_dpop_nonce, 400 and 401).
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => cfg.dpopNonce === true },
    resourceIndicators: {
      enabled: true,
      async getResourceServerInfo(_ctx, resourceIndicator) {
        const rs = cfg.resourceServers?.[resourceIndicator];
        if (!rs) throw new errors.InvalidTarget();
        return { audience: rs.audience, scope: rs.scope, accessTokenFormat: rs.format, accessTokenTTL: accessTokenTTL };
      },
    },
    // Pushed authorization requests (RFC 9126), required of every client
    // with cfg.requirePAR, else of those registered with
    // require_pushed_authorization_requests.
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: cfg.requirePAR === true },
  },
  fetch: fetchAllowingLoopback,
});

// Token exchange (RFC 8693), which oidc-provider leaves to the deployment:
// the subject token must be an access token this provider issued and that
// is valid; the audience, when given, must be the suite's downstream API,
// "interop-api" (else invalid_target); the scope must be within the
// subject token's. The new access token is the subject's, for the
// requesting client, with the subject's grant (so userinfo answers it),
// and names the actor token's client, if any.
const tokenExchange = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
provider.registerGrantType(tokenExchange, async (ctx) => {
  const params = ctx.oidc.params;
  if (!params.subject_token) throw new errors.InvalidRequest('subject_token is required');
  if (params.subject_token_type !== accessTokenType) throw new errors.InvalidRequest('unsupported subject_token_type');
  if (params.requested_token_type && params.requested_token_type !== accessTokenType) {
    throw new errors.InvalidRequest('unsupported requested_token_type');
  }
  const subject = await provider.AccessToken.find(params.subject_token);
  if (!subject || subject.isExpired) throw new errors.InvalidGrant('subject_token is not a valid access token');
  if (params.audience && params.audience !== 'interop-api') throw new errors.InvalidTarget('unknown audience');
  // Delegation (RFC 8693 section 1.1): an actor token, when sent, must be
  // an access token of this provider too (a user's or a client
  // credentials one); the new token names its client as the actor (act).
  let actor;
  if (params.actor_token) {
    if (params.actor_token_type !== accessTokenType) throw new errors.InvalidRequest('unsupported actor_token_type');
    const found = await provider.AccessToken.find(params.actor_token)
      ?? await provider.ClientCredentials.find(params.actor_token);
    if (!found || found.isExpired) throw new errors.InvalidGrant('actor_token is not a valid access token');
    actor = found.clientId;
  } else if (params.actor_token_type) {
    throw new errors.InvalidRequest('actor_token_type without actor_token');
  }
  const granted = new Set((subject.scope ?? '').split(' '));
  const scope = params.scope ? params.scope.split(' ') : [...granted];
  if (scope.some((sc) => !granted.has(sc))) throw new errors.InvalidScope('scope exceeds the subject token\'s');
  const token = new provider.AccessToken({
    accountId: subject.accountId,
    client: ctx.oidc.client,
    grantId: subject.grantId,
    scope: scope.join(' '),
    gty: 'token_exchange',
    extra: {
      ...(params.audience ? { exchanged_for: params.audience } : {}),
      ...(actor ? { act: { sub: actor } } : {}),
    },
  });
  const value = await token.save();
  event('token_exchange.success', { client_id: ctx.oidc.client.clientId, sub: subject.accountId, audience: params.audience, actor });
  ctx.body = {
    access_token: value,
    issued_token_type: accessTokenType,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'scope']);

function event(name, fields) {
  process.stdout.write(`EVENT ${JSON.stringify({ event: name, ...fields })}\n`);
}

provider.on('grant.success', (ctx) => {
  event('grant.success', {
    grant_type: ctx.oidc.params.grant_type,
    client_id: ctx.oidc.client?.clientId,
    sub: ctx.oidc.account?.accountId,
    auth_method: ctx.oidc.client?.clientAuthMethod,
    token_type: ctx.body?.token_type,
  });
});
provider.on('pushed_authorization_request.success', (_ctx, client) => {
  event('pushed_authorization_request.success', { client_id: client.clientId });
});
// A refresh token destroyed: revoked at the revocation endpoint (RFC 7009).
// (Rotation consumes tokens instead, and a logout revokes whole grants.)
provider.on('refresh_token.destroyed', (token) => {
  event('refresh_token.destroyed', { client_id: token.clientId, sub: token.accountId });
});
provider.on('end_session.success', (ctx) => {
  event('end_session.success', { client_id: ctx.oidc.client?.clientId });
});
provider.on('backchannel.success', (_ctx, client, accountId, sid) => {
  event('backchannel.success', { client_id: client.clientId, sub: accountId, sid });
});
// A failed back-channel delivery does not stop the logout, and would pass
// unseen without this.
provider.on('backchannel.error', (_ctx, err, client, accountId, sid) => {
  event('backchannel.error', {
    client_id: client.clientId, sub: accountId, sid, error: String(err?.message ?? err),
  });
  console.error(`provider: back-channel logout to ${client.backchannelLogoutUri} failed: ${err?.message ?? err}`);
});
for (const name of ['grant.error', 'authorization.error', 'userinfo.error', 'end_session.error', 'end_session_confirm.error', 'revocation.error', 'introspection.error', 'pushed_authorization_request.error', 'server_error']) {
  provider.on(name, (ctx, err) => {
    event(name, {
      path: ctx?.path, client_id: ctx?.oidc?.client?.clientId, error: err?.error ?? 'server_error', error_description: err?.error_description ?? String(err?.message ?? err),
    });
  });
}

phase('provider configured');
const server = provider.listen(cfg.port, host, () => {
  process.stdout.write(`READY ${issuer}\n`);
});
server.on('error', (err) => {
  console.error(`provider: ${err.message}`);
  process.exit(1);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
