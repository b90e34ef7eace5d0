package main

import "io"

func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return usageError{"not wired yet"}
}
