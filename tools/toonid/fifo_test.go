package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFIFOInputsRefused: a FIFO named as an image, as -model or as a pack's manifest.json is
// refused at once; before, each open waited for a writer forever.
func TestFIFOInputsRefused(t *testing.T) {
	mdl := tinyModel(t, 1)
	set := testSet(t)
	packDir := filepath.Join(t.TempDir(), "p")
	if code, _, errs := cli("pack", "build", "-gallery", filepath.Join(set, "gallery.tsv"), "-o", packDir, "-model", mdl); code != 0 {
		t.Fatalf("pack build: %s", errs)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	fifoPack := filepath.Join(dir, "fifopack")
	if err := os.MkdirAll(fifoPack, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifoPack, "manifest.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(set, "img", "red0.png")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"image", []string{"identify", "-model", mdl, "-pack", packDir, fifo}},
		{"image -at", []string{"identify", "-model", mdl, "-pack", packDir, "-at", "5,5", fifo}},
		{"embed image", []string{"embed", "-model", mdl, fifo}},
		{"-model", []string{"identify", "-model", fifo, "-pack", packDir, img}},
		{"manifest.json", []string{"identify", "-model", mdl, "-pack", fifoPack, img}},
		{"pack inspect", []string{"pack", "inspect", fifoPack}},
		{"gallery TSV", []string{"pack", "build", "-gallery", fifo, "-o", filepath.Join(dir, "out"), "-model", mdl}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan int, 1)
			var errs string
			go func() {
				code, _, e := cli(tc.args...)
				errs = e
				done <- code
			}()
			select {
			case code := <-done:
				if code == 0 {
					t.Errorf("exit 0 for a FIFO input")
				}
				t.Logf("refused: %s", errs)
			case <-time.After(20 * time.Second):
				t.Fatal("hung on a FIFO")
			}
		})
	}
}
