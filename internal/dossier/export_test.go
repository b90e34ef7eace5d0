package dossier

// RoutePatterns lists the patterns Routes registers, for the OpenAPI test.
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Handlers{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
