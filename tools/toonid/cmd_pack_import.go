package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/serve"
)

// packImportArgs are pack import's checked arguments.
type packImportArgs struct {
	file, store, name string
	force             bool
}

func parsePackImport(args []string, stderr io.Writer) (*packImportArgs, error) {
	fs := newFlags("pack import", "pack import FILE -store DIR [-name NAME] [-force]\n\n"+
		"Verifies a pack archive (FILE, e.g. taught characters a browser exported: the pack's files,\n"+
		"manifest.json and SHA256SUMS in one tar; every sha256 checked) and writes it to\n"+
		"DIR/packs/NAME/ (NAME: -name, else the pack's own), where 'toonid serve -store DIR' serves it.", stderr)
	var a packImportArgs
	fs.StringVar(&a.store, "store", "", "store directory (required; 'toonid serve -store' reads it)")
	fs.StringVar(&a.name, "name", "", "pack name in the store (default: the archive's pack name)")
	fs.BoolVar(&a.force, "force", false, "replace a pack of that name already in the store")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 || a.store == "" {
		fs.Usage()
		return nil, errors.New("want one FILE and -store DIR")
	}
	a.file = pos[0]
	if a.name != "" && !serve.ValidPackName(a.name) {
		return nil, fmt.Errorf("-name %q: want 1..64 of a-z 0-9 . _ - (a letter or digit first)", clipArg(a.name))
	}
	return &a, nil
}

func runPackImport(args []string, stdout, stderr io.Writer) error {
	a, err := parsePackImport(args, stderr)
	if err != nil {
		return err
	}
	f, err := fsutil.OpenRegular(a.file) // a FIFO is refused, not waited on
	if err != nil {
		return err
	}
	defer f.Close()
	p, _, err := pack.OpenArchive(f, pack.OpenOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", a.file, err)
	}
	name := a.name
	if name == "" {
		name = p.Name
	}
	if !serve.ValidPackName(name) {
		return fmt.Errorf("%s: pack name %q cannot name a store folder: give -name", a.file, clipArg(name))
	}
	dir := filepath.Join(a.store, "packs", name)
	if _, err := os.Stat(filepath.Join(dir, pack.ManifestFile)); err == nil && !a.force {
		return fmt.Errorf("%s already holds a pack: -force replaces it, -name picks another name", dir)
	}
	m, err := p.WriteDir(dir, pack.EncodeOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "pack %q: %d characters, %d rows, model %s -> %s\n", m.Name, len(m.Labels), p.Rows(), m.ModelSHA256[:12], dir)
	fmt.Fprintln(stdout, dir)
	return nil
}
