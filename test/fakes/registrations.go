package fakes

import (
	"context"
	"sync"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Registrations is an in-memory application.RegistrationStore.
type Registrations struct {
	mu sync.Mutex
	m  map[string]domain.ClientRegistration
}

var _ application.RegistrationStore = (*Registrations)(nil)

// NewRegistrations returns an empty store.
func NewRegistrations() *Registrations {
	return &Registrations{m: map[string]domain.ClientRegistration{}}
}

// SaveRegistration implements application.RegistrationStore.
func (s *Registrations) SaveRegistration(_ context.Context, r domain.ClientRegistration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.TokenHash = append([]byte(nil), r.TokenHash...)
	s.m[r.ClientID] = r
	return nil
}

// FindRegistration implements application.RegistrationStore.
func (s *Registrations) FindRegistration(_ context.Context, id string) (domain.ClientRegistration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[id]
	if !ok {
		return domain.ClientRegistration{}, domain.ErrNotFound
	}
	return r, nil
}

// DeleteRegistration implements application.RegistrationStore.
func (s *Registrations) DeleteRegistration(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// Statements is an application.SoftwareStatementVerifier that knows its
// statements by their text: each maps to the metadata it asserts, or to
// Err for any other text.
type Statements struct {
	Claims map[string]application.ClientMetadata
	Err    error
}

// VerifySoftwareStatement implements application.SoftwareStatementVerifier.
func (s Statements) VerifySoftwareStatement(_ context.Context, statement string) (application.ClientMetadata, error) {
	if m, ok := s.Claims[statement]; ok {
		return m, nil
	}
	return application.ClientMetadata{}, s.Err
}
