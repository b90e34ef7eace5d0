package catalog

import "io/fs"

// CatalogMessages gives the tests the embedded message catalogs.
func CatalogMessages() fs.FS { return messageFS }
