package serve

import (
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/toonid/toonid/internal/fsutil"
)

// Root is a directory opened as an os.Root that follows its path. An os.Root holds the
// directory open, so after `rm -rf build/store` and a rebuild it would go on serving the
// deleted directory (empty, or worse, stale files still open); Root notices that the path
// now names another directory and opens that one on the next access.
type Root struct {
	path string

	mu   sync.Mutex
	cur  *os.Root
	info fs.FileInfo // of cur, for os.SameFile
	prev *os.Root    // the one before, closed on the next replacement: requests in flight may still use it
}

// OpenRoot opens the directory at path.
func OpenRoot(path string) (*Root, error) {
	r := &Root{path: path}
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// current returns the os.Root for what path names now, reopening it if it was replaced.
func (r *Root) current() (*os.Root, error) {
	fi, err := os.Stat(r.path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && r.cur != nil && os.SameFile(fi, r.info) {
		return r.cur, nil
	}
	if err != nil {
		if r.cur != nil {
			// Gone for now (mid-rebuild): keep answering from what is open rather than fail.
			return r.cur, nil
		}
		return nil, fmt.Errorf("serve: open %s: %w", r.path, err)
	}
	root, err := os.OpenRoot(r.path)
	if err != nil {
		if r.cur != nil {
			return r.cur, nil
		}
		return nil, fmt.Errorf("serve: open %s: %w", r.path, err)
	}
	info, err := root.Stat(".")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("serve: stat %s: %w", r.path, err)
	}
	if r.prev != nil {
		r.prev.Close()
	}
	r.prev, r.cur, r.info = r.cur, root, info
	return root, nil
}

// FS returns an fs.FS over the directory; every call resolves through the current root.
func (r *Root) FS() fs.FS { return rootFS{r} }

// Lstat is os.Root.Lstat on the current root.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	root, err := r.current()
	if err != nil {
		return nil, err
	}
	return root.Lstat(name)
}

// Close closes the open directories.
func (r *Root) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prev != nil {
		r.prev.Close()
		r.prev = nil
	}
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

type rootFS struct{ r *Root }

var (
	_ fs.StatFS    = rootFS{}
	_ fs.ReadDirFS = rootFS{}
)

func (f rootFS) fs() (fs.FS, error) {
	root, err := f.r.current()
	if err != nil {
		return nil, err
	}
	return root.FS(), nil
}

// Open opens name read-only and non-blocking, so a FIFO planted in the folder cannot hang
// the request (callers then refuse it as not regular).
func (f rootFS) Open(name string) (fs.File, error) {
	root, err := f.r.current()
	if err != nil {
		return nil, err
	}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	file, err := root.OpenFile(name, os.O_RDONLY|fsutil.OpenNonblock, 0)
	if err != nil {
		return nil, err
	}
	return file, nil
}

func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	fsys, err := f.fs()
	if err != nil {
		return nil, err
	}
	return fs.Stat(fsys, name)
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	fsys, err := f.fs()
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(fsys, name)
}
