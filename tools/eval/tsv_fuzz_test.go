package eval

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadTSV: any file either reads into rows that satisfy the format, or gives an error; no panic.
func FuzzReadTSV(f *testing.F) {
	for _, n := range []string{"testdata/eval.tsv", "testdata/gallery.tsv"} {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name := filepath.Join(t.TempDir(), "m.tsv")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if rows, err := ReadManifest(name); err == nil {
			for _, r := range rows {
				if r.Path == "" || r.Identity == "" || (r.Role != Gallery && r.Role != Probe && r.Role != Distractor) {
					t.Fatalf("accepted a bad row %+v", r)
				}
			}
		}
		if rows, err := ReadGallery(name); err == nil {
			for _, r := range rows {
				if r.Path == "" || r.Label.ID == "" || r.Label.Name == "" {
					t.Fatalf("accepted a bad gallery row %+v", r)
				}
			}
		}
	})
}
