// A real OpenID Connect provider for the integration tests (tests/integration/oidc.rs): panva's
// oidc-provider (OpenID Certified), on the loopback port given as the first argument.
//
// The test configures it once Docket is listening, since the client's redirect URI names
// Docket's port: `POST /_test/configure` with JSON
//   { redirect_uri, alg: "RS256"|"ES256"|"EdDSA", public_client: bool, claims_in_id_token: bool,
//     account: { sub, email, email_verified, name }, tamper: "" | <kind below> }
// Every sign-in then logs that account in and consents at once (no forms), and the tokens are
// the provider's own; configuring again keeps the signing key of the algorithm. `tamper` turns it into a misbehaving issuer by re-signing the ID token of
// each token response: "wrong-issuer", "wrong-audience", "several-audiences", "expired"
// (exp an hour ago), "unknown-key" (signed with a key the key set lacks); "response-issuer"
// names another issuer in the authorization response's `iss` (RFC 9207).
// `POST /_test/rotate` starts signing with a new key published beside the old one (a key
// rotation); `GET /_test/stats` says how often the key set was fetched.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;

function keyPair(alg) {
  const { privateKey } =
    alg === 'RS256' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256' ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('ed25519');
  const kid = crypto.randomUUID();
  return {
    alg,
    kid,
    privateKey,
    privateJwk: { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    publicJwk: { ...crypto.createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

const b64url = (data) => Buffer.from(data).toString('base64url');

// JWS compact serialization of `payload`, signed with `key`.
function signJwt(payload, key) {
  const input = `${b64url(JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid }))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    key.alg === 'RS256' ? crypto.sign('sha256', Buffer.from(input), key.privateKey)
    : key.alg === 'ES256' ? crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : crypto.sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${b64url(signature)}`;
}

function tampered(idToken, settings, rotatedKey) {
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  let key = rotatedKey ?? settings.signingKey;
  switch (settings.tamper) {
    case 'wrong-issuer': claims.iss = 'https://issuer.invalid'; break;
    case 'wrong-audience': claims.aud = 'another-client'; delete claims.azp; break;
    case 'several-audiences': claims.aud = [claims.aud, 'another-client']; delete claims.azp; break;
    case 'expired': claims.iat = now - 7200; claims.exp = now - 3600; break;
    case 'unknown-key': key = keyPair(settings.alg); break;
    default: break;
  }
  return signJwt(claims, key);
}

let provider;
let settings;
let rotatedKey;
let jwksFetches = 0;
const signingKeys = {};

function configure(body) {
  settings = {
    alg: body.alg ?? 'RS256',
    claimsInIdToken: body.claims_in_id_token ?? true,
    tamper: body.tamper ?? '',
    account: body.account,
  };
  // The same key across configurations of one algorithm, as one issuer keeps its keys.
  settings.signingKey = signingKeys[settings.alg] ??= keyPair(settings.alg);
  const client = {
    client_id: 'docket',
    redirect_uris: [body.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: settings.alg,
    ...(body.public_client
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: 'docket-test-secret' }),
  };
  provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: [settings.signingKey.privateJwk] },
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ ...settings.account, sub: id }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The profile and e-mail claims go in the ID token too, as most providers put them; with
    // `claims_in_id_token: false` only at the userinfo endpoint (Authelia's, Zitadel's default).
    conformIdTokenClaims: !settings.claimsInIdToken,
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['docket-test-cookie-key'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'] },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path.startsWith('/interaction/')) {
      // The test's user logs in and consents to everything asked.
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      let result;
      if (details.prompt.name === 'login') {
        result = { login: { accountId: settings.account.sub } };
      } else {
        const grant = new provider.Grant({
          accountId: details.session.accountId,
          clientId: details.params.client_id,
        });
        grant.addOIDCScope(details.params.scope);
        result = { consent: { grantId: await grant.save() } };
      }
      const target = await provider.interactionResult(ctx.req, ctx.res, result, {
        mergeWithLastSubmission: details.prompt.name !== 'login',
      });
      ctx.redirect(target);
      return;
    }
    await next();
    const location = ctx.response.get('Location');
    if (settings.tamper === 'response-issuer' && location.includes('iss=')) {
      // The authorization response names another issuer (RFC 9207).
      const url = new URL(location);
      url.searchParams.set('iss', 'https://issuer.invalid');
      ctx.redirect(url.toString());
    }
    if (ctx.path === '/jwks') {
      jwksFetches += 1;
      if (rotatedKey) {
        const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
        ctx.body = { keys: [...body.keys, rotatedKey.publicJwk] };
      }
    }
    if (ctx.path === '/token' && ctx.status === 200 && (settings.tamper || rotatedKey)) {
      const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
      if (body.id_token) {
        ctx.body = { ...body, id_token: tampered(body.id_token, settings, rotatedKey) };
      }
    }
  });
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => { try { resolve(JSON.parse(data || '{}')); } catch (e) { reject(e); } });
  });
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/_test/configure' && req.method === 'POST') {
      configure(await readJson(req));
      res.writeHead(204).end();
    } else if (req.url === '/_test/rotate' && req.method === 'POST') {
      rotatedKey = keyPair(settings.alg);
      res.writeHead(204).end();
    } else if (req.url === '/_test/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jwks_fetches: jwksFetches }));
    } else if (provider) {
      provider.callback()(req, res);
    } else {
      res.writeHead(503).end('not configured yet');
    }
  } catch (e) {
    res.writeHead(500).end(String(e));
  }
});
server.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
