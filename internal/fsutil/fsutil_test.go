package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		limit   int64
		want    string
		wantErr error
	}{
		{file, 10, "hello", nil},
		{link, 10, "hello", nil},
		{file, 4, "", nil}, // over the limit: some error
		{fifo, 10, "", ErrNotRegular},
		{dir, 10, "", ErrNotRegular},
		{filepath.Join(dir, "missing"), 10, "", os.ErrNotExist},
	} {
		done := make(chan struct{})
		var b []byte
		var err error
		go func() { b, err = ReadRegular(tc.name, tc.limit); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: hung", tc.name)
		}
		if tc.want != "" {
			if err != nil || string(b) != tc.want {
				t.Errorf("%s: %q, %v", tc.name, b, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: read %q, want an error", tc.name, b)
		} else if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.tps")
	for _, body := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(name, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != body {
			t.Fatalf("read back %q, %v; want %q", got, err, body)
		}
		if st, err := os.Stat(name); err != nil || st.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v, %v; want 0640", st.Mode(), err)
		}
	}
	// A failed rename (the name is a non-empty directory) leaves no temporary file behind.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(sub, []byte("x"), 0o644); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "a.tps" || names[1] != "sub" {
		t.Errorf("directory holds %v, want [a.tps sub]: no temporary files", names)
	}
}
