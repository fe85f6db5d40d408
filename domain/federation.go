package domain

// AuthFederatedJWT is workload identity federation: the client presents a
// token of a trusted external issuer (a Kubernetes service account, a
// SPIFFE JWT-SVID, a CI job) as its JWT client assertion (RFC 7523 §2.2)
// or bearer grant (§2.1), and a trust relationship maps it to the client.
// It is kept out of AuthMethods, which the metadata advertises: the value
// is Sigil's, not one of the IANA registry's, and on the wire the client
// sends what private_key_jwt sends.
const AuthFederatedJWT AuthMethod = "federated_jwt"
