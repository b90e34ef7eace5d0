package dossier

// RoutePatterns lists the patterns Routes registers, for the OpenAPI test.
func RoutePatterns() []string {
	var out []string
	for _, rt := range append((&Handlers{}).routes(), (&Handlers{}).meRoutes()...) {
		out = append(out, rt.pattern)
	}
	return out
}
