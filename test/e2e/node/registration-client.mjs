// A client Sigil did not write (panva's oauth4webapi) that knows only a
// resource: it discovers the resource's authorization server (RFC 9728),
// that server's metadata (RFC 8414), registers itself (RFC 7591) with an
// initial access token, gets a token (client_credentials) and calls the
// resource. Prints one JSON line of what it saw.
//
// usage: node registration-client.mjs RESOURCE_IDENTIFIER RESOURCE_URL INITIAL_ACCESS_TOKEN
import * as oauth from 'oauth4webapi'

const [resourceId, resourceURL, initialAccessToken] = process.argv.slice(2)
// Sigil's test nodes speak plain HTTP on loopback.
const insecure = { [oauth.allowInsecureRequests]: true }

const rs = await oauth.processResourceDiscoveryResponse(
  new URL(resourceId), await oauth.resourceDiscoveryRequest(new URL(resourceId), insecure))
const issuer = new URL(rs.authorization_servers[0])
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))

const client = await oauth.processDynamicClientRegistrationResponse(
  await oauth.dynamicClientRegistrationRequest(as, {
    client_name: 'oauth4webapi interop',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: rs.scopes_supported.join(' '),
  }, { initialAccessToken, ...insecure }))

const token = await oauth.processClientCredentialsResponse(as, client,
  await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(client.client_secret),
    new URLSearchParams({ scope: rs.scopes_supported.join(' ') }), insecure))

const res = await oauth.protectedResourceRequest(token.access_token, 'GET', new URL(resourceURL), undefined, undefined, insecure)
console.log(JSON.stringify({
  registration_endpoint: as.registration_endpoint,
  client_id: client.client_id,
  token_type: token.token_type,
  resource_status: res.status,
  resource_body: await res.json(),
}))
