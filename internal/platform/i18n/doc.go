// Package i18n owns the user-visible text of congso in Vietnamese (the default)
// and English.
//
// Text lives in message catalogs: flat JSON objects that map a stable key such as
// "error.not_found" to a sentence. Sentences may contain named placeholders like
// {field}, filled from name/value argument pairs:
//
//	i18n.T(lang, "error.body_too_large", "limit", "1 MB")
//
// The platform's own catalogs are embedded from messages/vi.json and
// messages/en.json. Each module ships its own catalogs the same way and registers
// them once at start-up with [RegisterFS] (or [Register] for a map). Modules
// prefix their keys with the module name ("dossier.not_found") so that keys never
// collide; registering a key twice with different text is an error.
//
// Invariants:
//   - Every key exists in every supported language, with the same placeholders.
//     [Check] reports violations; each package with catalogs tests it.
//   - [T] never fails: it falls back to Vietnamese, then to the key itself, so a
//     missing translation is visible but harmless.
//   - The language of a request is chosen by [FromRequest]: the "lang" cookie,
//     then the Accept-Language header, then Vietnamese.
package i18n
