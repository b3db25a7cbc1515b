package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/model"
)

// parseChecksum reads `checksum FILE...`.
func parseChecksum(args []string, stderr io.Writer) ([]string, error) {
	fs := newFlags("checksum", "checksum MODEL.tmdl...\n\nPrints each model file's content address (model/FORMAT.md: the header checksum,\n"+
		"the name a store keeps it under, models/<checksum>.tmdl), one \"checksum  file\" line per file.", stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, errors.New("no model files given")
	}
	return fs.Args(), nil
}

// runChecksum prints model.Checksum of each file; the make rules name store files with it.
func runChecksum(args []string, stdout, stderr io.Writer) error {
	files, err := parseChecksum(args, stderr)
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := fsutil.ReadRegular(f, maxModelFile)
		if err != nil {
			return err
		}
		sum, err := model.Checksum(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(stdout, "%s  %s\n", sum, f)
	}
	return nil
}
