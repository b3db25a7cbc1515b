package serve

import (
	"io/fs"
	"sync"
	"time"
)

// version identifies one state of a stored object without reading it: size and
// modification time from the directory store, the object's own ETag from R2. Two reads with
// the same version are taken to hold the same bytes (which is how HTTP caches and make
// themselves treat mtime); a version with neither time nor ETag says nothing.
type version struct {
	size    int64
	modTime time.Time
	etag    string
}

func (v version) known() bool { return !v.modTime.IsZero() || v.etag != "" }

func (v version) equal(o version) bool {
	return v.size == o.size && v.modTime.Equal(o.modTime) && v.etag == o.etag
}

func infoVersion(i Info) version { return version{size: i.Size, modTime: i.ModTime, etag: i.ETag} }

// fileVersion is the version of an open file, when the store's reader can say it: the
// bytes about to be sent and the ETag remembered for them then belong to the same file
// even if the name was replaced (renamed over) since Stat.
func fileVersion(r any, storeETag string) (version, bool) {
	st, ok := r.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return version{}, false
	}
	fi, err := st.Stat()
	if err != nil {
		return version{}, false
	}
	return version{size: fi.Size(), modTime: fi.ModTime(), etag: storeETag}, true
}

const (
	// maxETagEntries bounds the cache; the keys are the mutable files of the store (a
	// manifest per pack and the index), so it is never full in practice, and when it is,
	// starting over costs one read per file.
	maxETagEntries = 1024
	// maxWholeReads bounds how many mutable files are read whole at once, across keys, so
	// memory is at most maxWholeReads x MaxHashedSize however many clients ask.
	maxWholeReads = 4
)

// etagCache remembers the sha256 ETag of each mutable file by version, so a request for an
// unchanged manifest costs a Stat and a streamed read (or nothing, for a 304) instead of
// reading and hashing the whole file; and it makes concurrent misses on one key wait for one
// read instead of each reading the file.
type etagCache struct {
	mu      sync.Mutex
	entries map[string]etagEntry
	flights map[string]chan struct{}
	whole   chan struct{} // a semaphore of maxWholeReads slots
}

type etagEntry struct {
	v    version
	etag string
}

func newETagCache() *etagCache {
	return &etagCache{entries: map[string]etagEntry{}, flights: map[string]chan struct{}{},
		whole: make(chan struct{}, maxWholeReads)}
}

// get returns the ETag remembered for key at version v.
func (c *etagCache) get(key string, v version) (string, bool) {
	if !v.known() {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !e.v.equal(v) {
		return "", false
	}
	return e.etag, true
}

func (c *etagCache) put(key string, v version, etag string) {
	if !v.known() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxETagEntries {
		clear(c.entries)
	}
	c.entries[key] = etagEntry{v: v, etag: etag}
}

// lead reports whether the caller is to read key itself (then it must call done) or, when
// another request is already reading it, waits for that one and returns false.
func (c *etagCache) lead(key string) bool {
	c.mu.Lock()
	ch, busy := c.flights[key]
	if !busy {
		c.flights[key] = make(chan struct{})
	}
	c.mu.Unlock()
	if busy {
		<-ch
		return false
	}
	c.whole <- struct{}{}
	return true
}

func (c *etagCache) done(key string) {
	<-c.whole
	c.mu.Lock()
	close(c.flights[key])
	delete(c.flights, key)
	c.mu.Unlock()
}
