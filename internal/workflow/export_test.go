package workflow

// InboxSQL exposes the query of an inbox page to the plan tests.
func (s *Service) InboxSQL(q InboxQuery) (string, []any, error) { return s.inboxSQL(&q) }
