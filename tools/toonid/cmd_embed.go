package main

import (
	"errors"
	"io"
)

// PLACEHOLDER: replaced by the owning room's implementation.
func runEmbed(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
