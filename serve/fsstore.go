package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
)

// FSStore serves files from an fs.FS (fstest.MapFS, embed.FS, os.Root.FS). Ranges use the
// file's io.ReaderAt or io.Seeker when it has one.
type FSStore struct {
	FS fs.FS
}

var (
	_ Store      = FSStore{}
	_ PackLister = FSStore{}
)

// Stat implements Store.
func (s FSStore) Stat(ctx context.Context, key string) (Info, error) {
	if !fs.ValidPath(key) {
		return Info{}, fmt.Errorf("serve: key %q: %w", key, fs.ErrInvalid)
	}
	fi, err := fs.Stat(s.FS, key)
	if err != nil {
		return Info{}, fmt.Errorf("serve: stat %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("serve: %s is not a regular file: %w", key, fs.ErrNotExist)
	}
	return Info{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Read implements Store.
func (s FSStore) Read(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if !fs.ValidPath(key) {
		return nil, fmt.Errorf("serve: key %q: %w", key, fs.ErrInvalid)
	}
	if off < 0 {
		return nil, fmt.Errorf("serve: read %s: negative offset %d", key, off)
	}
	f, err := s.FS.Open(key)
	if err != nil {
		return nil, fmt.Errorf("serve: open %s: %w", key, err)
	}
	// Seek first: a *os.File behind an io.LimitedReader lets net/http use sendfile.
	var r io.Reader = f
	switch ff := f.(type) {
	case io.Seeker:
		if _, err := ff.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("serve: seek %s: %w", key, err)
		}
	case io.ReaderAt:
		r = io.NewSectionReader(ff, off, 1<<62)
	default:
		if _, err := io.CopyN(io.Discard, f, off); err != nil {
			f.Close()
			return nil, fmt.Errorf("serve: skip to %d in %s: %w", off, key, err)
		}
	}
	if n >= 0 {
		r = &io.LimitedReader{R: r, N: n}
	}
	return readCloser{r, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer // the fs.File
}

// Stat reports on the open file, so the handler can tell the version it is about to send
// from the one it saw in Store.Stat.
func (rc readCloser) Stat() (fs.FileInfo, error) {
	if f, ok := rc.Closer.(fs.File); ok {
		return f.Stat()
	}
	return nil, errors.ErrUnsupported
}

// WriteTo hands the bare reader to a destination that can read from it (net/http's
// response, which then sends a file with sendfile); io.Copy would otherwise see only this
// wrapper and copy through a buffer.
func (rc readCloser) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(rc.Reader)
	}
	return io.Copy(w, rc.Reader)
}

// ListPacks implements PackLister: the packs are the folders under packs/ that hold a
// manifest.json.
func (s FSStore) ListPacks(ctx context.Context) ([]string, error) {
	ents, err := fs.ReadDir(s.FS, "packs")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("serve: list packs: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() || !validPackName(e.Name()) {
			continue
		}
		if _, err := fs.Stat(s.FS, "packs/"+e.Name()+"/manifest.json"); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// DirStore is an FSStore over a directory opened as an os.Root, so no key, symlink or
// race can reach outside it. It follows the path (Root): a store folder replaced while
// served is served from the new folder, not from the deleted one.
type DirStore struct {
	FSStore
	root *Root
}

// Dir opens the directory store at path.
func Dir(path string) (*DirStore, error) {
	root, err := OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("serve: open store: %w", err)
	}
	return &DirStore{FSStore: FSStore{FS: root.FS()}, root: root}, nil
}

// Stat implements Store. A key that the root refuses because a symlink on its way leads
// out of the store is reported as missing: to a client it does not exist.
func (d *DirStore) Stat(ctx context.Context, key string) (Info, error) {
	info, err := d.FSStore.Stat(ctx, key)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return info, err
	}
	for p := key; p != "."; p = path.Dir(p) {
		if fi, lerr := d.root.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return Info{}, fmt.Errorf("serve: %s: symlink %s leaves the store: %w", key, p, fs.ErrNotExist)
		}
	}
	return info, err
}

// Close releases the directory.
func (d *DirStore) Close() error { return d.root.Close() }
