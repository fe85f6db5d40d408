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
