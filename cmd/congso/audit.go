package main

import "io"

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	return usageError{"not wired yet"}
}
