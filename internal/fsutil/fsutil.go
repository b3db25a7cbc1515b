// Package fsutil opens the files the tools are given by name (images, models, TSVs,
// manifests) the one safe way: regular files only, opened so that a FIFO or device named as
// input is refused at once instead of hanging until a writer comes. It also writes files the
// one safe way (WriteFileAtomic), for the pack builder, collect and quantize.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrNotRegular is returned (wrapped) for a name that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens name for reading if it is a regular file (symlinks to one are fine). It
// opens non-blocking, which makes opening a FIFO return at once; reads from a regular file
// ignore the flag.
func OpenRegular(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|OpenNonblock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, fi.Mode().Type())
	}
	return f, nil
}

// ReadRegular reads a regular file whole, refusing it unread when its size is over limit and
// stopping one byte past limit if it grows while read.
func ReadRegular(name string, limit int64) ([]byte, error) {
	f, err := OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", name, fi.Size(), limit)
	}
	b := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%s: larger than the limit %d", name, limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// WriteFileAtomic writes b to name through a temporary file in the same directory and a
// rename, so a reader sees the old file or the whole new one, never half of it. The temporary
// name is unique (concurrent writers of one name do not share it) and starts with a dot
// (".tmp-<base>-*"), so one left behind by a killed process is not taken for content: the
// store refuses dotfiles (serve/API.md) and globs skip them. On any error the temporary file is
// removed. The file gets mode perm.
func WriteFileAtomic(name string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
