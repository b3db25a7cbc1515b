package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

// pack import verifies an archive and writes it where toonid serve reads packs; a corrupt or
// truncated file writes nothing, an existing pack is kept unless -force.
func TestPackImport(t *testing.T) {
	dir := t.TempDir()
	labels := []pack.Label{{ID: "user:1", Name: "Grey"}, {ID: "user:2", Name: "Red"}}
	p, err := pack.Build(labels, [][][]float32{{{1, 0, 0, 0}}, {{0, 1, 0, 0}}}, pack.BuildOptions{Name: "taught", ModelSHA256: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := p.WriteArchive(&b, pack.EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "taught"+pack.ArchiveExt)
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.tar")
	os.WriteFile(bad, b.Bytes()[:b.Len()/2], 0o644)
	store := filepath.Join(dir, "store")

	if code, _, errs := cli("pack", "import", bad, "-store", store); code == 0 || !strings.Contains(errs, "not a complete pack archive") {
		t.Fatalf("truncated: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatalf("a refused import wrote the store (%v)", err)
	}
	code, out, errs := cli("pack", "import", file, "-store", store)
	if code != 0 || strings.TrimSpace(out) != filepath.Join(store, "packs", "taught") {
		t.Fatalf("import: exit %d, %q, %s", code, out, errs)
	}
	q, err := pack.Open(os.DirFS(filepath.Join(store, "packs", "taught")), pack.OpenOptions{})
	if err != nil || len(q.Labels) != 2 || q.Labels[1].Name != "Red" {
		t.Fatalf("opened from the store: %v, %v", q, err)
	}
	if code, _, errs := cli("pack", "import", file, "-store", store); code == 0 || !strings.Contains(errs, "already holds a pack") {
		t.Fatalf("second import: exit %d, %s", code, errs)
	}
	if code, _, errs := cli("pack", "import", file, "-store", store, "-force"); code != 0 {
		t.Fatalf("-force: %s", errs)
	}
	if code, _, errs := cli("pack", "import", file, "-store", store, "-name", "mine"); code != 0 {
		t.Fatalf("-name: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(store, "packs", "mine", pack.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli("pack", "import", file, "-store", store, "-name", "../x"); code == 0 {
		t.Fatal("-name ../x accepted")
	}
}
