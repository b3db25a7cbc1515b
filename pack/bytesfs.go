package pack

import (
	"bytes"
	"io/fs"
	"time"
)

// OpenBytes is Open for a manifest and shard files already in memory (files maps a shard's file
// name to its bytes), e.g. what the browser's worker downloaded and verified: every shard's size
// and sha256 are checked again here, as Open checks files on disk.
func OpenBytes(manifest []byte, files map[string][]byte, opts OpenOptions) (*Pack, error) {
	m, err := DecodeManifest(manifest)
	if err != nil {
		return nil, err
	}
	return OpenManifest(m, bytesFS(files), opts)
}

// bytesFS is the read-only fs.FS of a flat map of file names to bytes. It stands in for
// testing/fstest.MapFS, which must not be linked into the browser's wasm (it pulls the testing
// packages in, and is not meant for programs).
type bytesFS map[string][]byte

func (f bytesFS) Open(name string) (fs.File, error) {
	b, ok := f[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &bytesFile{Reader: bytes.NewReader(b), info: bytesInfo{name: name, size: int64(len(b))}}, nil
}

type bytesFile struct {
	*bytes.Reader
	info bytesInfo
}

func (f *bytesFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *bytesFile) Close() error               { return nil }

type bytesInfo struct {
	name string
	size int64
}

func (i bytesInfo) Name() string       { return i.name }
func (i bytesInfo) Size() int64        { return i.size }
func (i bytesInfo) Mode() fs.FileMode  { return 0o444 }
func (i bytesInfo) ModTime() time.Time { return time.Time{} }
func (i bytesInfo) IsDir() bool        { return false }
func (i bytesInfo) Sys() any           { return nil }
