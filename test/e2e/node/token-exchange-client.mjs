// A client Sigil did not write (panva's oauth4webapi) exchanging a token
// (RFC 8693) through its generic token endpoint request: it discovers the server
// (RFC 8414), checks that token exchange is advertised, and trades the
// subject token for one for AUDIENCE, authenticating with
// client_secret_basic. Prints one JSON line of the answer.
//
// usage: node token-exchange-client.mjs ISSUER CLIENT_ID CLIENT_SECRET SUBJECT_TOKEN AUDIENCE
import * as oauth from 'oauth4webapi'

const [issuerURL, clientId, clientSecret, subjectToken, audience] = process.argv.slice(2)
const insecure = { [oauth.allowInsecureRequests]: true }
const grant = 'urn:ietf:params:oauth:grant-type:token-exchange'

const issuer = new URL(issuerURL)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
if (!as.grant_types_supported?.includes(grant)) {
  throw new Error('token exchange is not advertised: ' + JSON.stringify(as.grant_types_supported))
}
const client = { client_id: clientId }
const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(clientSecret), grant,
  new URLSearchParams({
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience,
  }), insecure)
const token = await oauth.processGenericTokenEndpointResponse(as, client, res)
console.log(JSON.stringify({
  token_type: token.token_type,
  issued_token_type: token.issued_token_type,
  access_token: token.access_token,
  expires_in: token.expires_in,
  scope: token.scope,
}))
