// A DPoP client made with panva's dpop library, which Sigil did not
// write: for each algorithm, a key pair made by WebCrypto, a token request
// with a proof, a resource request with a proof bound to the token, and
// the same proof again. Prints one JSON line per algorithm.
//
// Usage: node dpop-client.mjs TOKEN_ENDPOINT RESOURCE_URL CLIENT_ID CLIENT_SECRET
import * as DPoP from 'dpop';

const [tokenEndpoint, resourceURL, clientID, clientSecret] = process.argv.slice(2);
const basic = 'Basic ' + Buffer.from(`${clientID}:${clientSecret}`).toString('base64');

for (const alg of ['ES256', 'PS256', 'RS256']) {
  const keypair = await DPoP.generateKeyPair(alg);
  const jkt = await DPoP.calculateThumbprint(keypair.publicKey);

  const tokenProof = await DPoP.generateProof(keypair, tokenEndpoint, 'POST');
  const tokenResponse = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { authorization: basic, dpop: tokenProof, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=country.read',
  });
  const token = await tokenResponse.json();

  const proof = await DPoP.generateProof(keypair, resourceURL, 'GET', undefined, token.access_token);
  const get = () => fetch(resourceURL, { headers: { authorization: `DPoP ${token.access_token}`, dpop: proof } });
  const first = await get();
  const again = await get();
  console.log(JSON.stringify({
    alg,
    jkt,
    token_status: tokenResponse.status,
    token_type: token.token_type,
    cnf_jkt: token.access_token.includes('.')
      ? JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url')).cnf?.jkt
      : undefined,
    resource_status: first.status,
    resource_body: await first.json(),
    replay_status: again.status,
    replay_challenge: again.headers.get('www-authenticate'),
  }));
}
