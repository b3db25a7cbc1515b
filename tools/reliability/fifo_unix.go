//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
)

// fifo makes a named pipe at path: opening it for reading blocks until a writer comes.
func fifo(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, syscall.Mkfifo(path, 0o644)
}
