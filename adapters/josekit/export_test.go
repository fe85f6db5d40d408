package josekit

// WaitIdle waits for the fetch in flight, if any, so that tests observe a
// background refresh deterministically.
func (r *RemoteKeySet) WaitIdle() {
	r.mu.Lock()
	f := r.inflight
	r.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

// ProofKeyThumbprint is the RFC 7638 thumbprint parseProofKey computes
// for jwk.
func ProofKeyThumbprint(t interface{ Fatal(...any) }, jwk string) string {
	k, err := parseProofKey([]byte(jwk))
	if err != nil {
		t.Fatal(err)
	}
	return k.jkt
}
