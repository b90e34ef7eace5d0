package nationalportal

import "context"

// ClaimForTest takes a dossier's sync lease as another worker would.
func ClaimForTest(s *Service, code string) (bool, error) {
	ok, _, err := claim(context.Background(), s.db, code, "other-worker", s.cfg.Now(), s.cfg.Lease)
	return ok, err
}
