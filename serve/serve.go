// Package serve is the one HTTP handler that serves toonid models and packs, both locally
// (toonid serve, make demo) and from the Cloudflare Worker in front of R2.
//
// Routes, all under /v1/:
//
//	GET /v1/models/<sha256>.tmdl         content-addressed model file
//	GET /v1/packs/index.json             the list of packs
//	GET /v1/packs/<pack>/manifest.json   a pack's current manifest
//	GET /v1/packs/<pack>/<sha256>.<ext>  content-addressed pack shards
//
// Content-addressed files are immutable: their ETag is the sha256 in their name and they
// may be cached for a year. Everything else is revalidated on every use (no-cache) and
// gets a strong ETag computed from its bytes. HEAD, If-None-Match (304), a single byte
// range (206, 416), If-Range and CORS (with preflight) are handled here, so every host
// behaves the same.
//
// A complete local server:
//
//	store, err := serve.Dir("build/store")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	h := serve.New(store, serve.Options{AllowedOrigins: []string{"http://127.0.0.1:8080"}})
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Store holds the served files under slash-separated keys such as
// "packs/default/manifest.json". Keys passed to a Store are always valid fs paths
// (fs.ValidPath) that matched a route; a Store need not re-check them for traversal,
// but the directory store does anyway.
type Store interface {
	// Stat reports the object's size. A missing key is an error wrapping fs.ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// Read returns n bytes of the object starting at off; n < 0 means up to its end.
	// Hosts such as R2 turn this into one ranged read.
	Read(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
}

// Info describes one stored object.
type Info struct {
	Size int64
	// ETag is the store's own validator (quoted, e.g. R2's httpEtag). It is sent only for
	// mutable files too large to hash; for the others it is part of their version. It may
	// be empty.
	ETag string
	// ModTime is when the object last changed, if the store knows (zero otherwise). With
	// Size and ETag it tells the handler that a file it hashed before is unchanged.
	ModTime time.Time
}

// PackLister is implemented by stores that can list their packs; the handler uses it to
// answer /v1/packs/index.json when the store holds no packs/index.json file.
type PackLister interface {
	ListPacks(ctx context.Context) ([]string, error)
}

// Options configure the handler. The zero value serves without CORS.
type Options struct {
	// AllowedOrigins are the exact origins (scheme://host[:port], or chrome-extension://<id>)
	// allowed to read responses cross-origin. "*" allows any origin.
	AllowedOrigins []string
	// MaxHashedSize caps how much of a mutable file (manifest, index) is read to compute
	// its ETag; larger mutable files are streamed with the store's ETag. Default 4 MiB.
	MaxHashedSize int64
	// Log receives internal errors, which never reach clients. Nil discards them.
	Log *slog.Logger
	// Identity sends every body as stored, never gzip or brotli encoded. The Worker sets it:
	// workerd (through syumai/workers) passes a handler's encoded body on without decoding
	// it for the client, and Cloudflare compresses responses at its edge anyway.
	Identity bool
}

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	cacheNone       = "no-store"
	maxPathLen      = 512
	defaultMaxHash  = 4 << 20
)

type handler struct {
	identity bool
	store    Store
	origins  map[string]bool
	anyOrig  bool
	maxHash  int64
	log      *slog.Logger
	etags    *etagCache
}

// New returns the handler serving store under /v1/.
func New(store Store, opts Options) http.Handler {
	h := &handler{store: store, origins: map[string]bool{}, maxHash: opts.MaxHashedSize, log: opts.Log, identity: opts.Identity,
		etags: newETagCache()}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			h.anyOrig = true
		}
		h.origins[strings.TrimRight(o, "/")] = true
	}
	if h.maxHash <= 0 {
		h.maxHash = defaultMaxHash
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	allowed := h.cors(w, r)

	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.options(w, r, allowed)
		return
	default:
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}

	rt, err := parseRoute(requestPath(r))
	if err != nil {
		if errors.Is(err, errBadPath) {
			writeError(w, http.StatusBadRequest, "invalid path")
		} else {
			writeError(w, http.StatusNotFound, "not found")
		}
		return
	}
	if rt.addressed {
		h.serveAddressed(w, r, rt)
		return
	}
	h.serveMutable(w, r, rt)
}

// cors sets the response headers for an allowed Origin and reports whether it was allowed.
func (h *handler) cors(w http.ResponseWriter, r *http.Request) bool {
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	origin := headerList(r.Header, "Origin")
	if origin == "" || !(h.anyOrig || h.origins[origin]) {
		return false
	}
	if h.anyOrig {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
	}
	hdr.Set("Access-Control-Expose-Headers", "ETag, Content-Length, Content-Range, Accept-Ranges")
	return true
}

// allowedRequestHeaders are the request headers a cross-origin page may send.
var allowedRequestHeaders = map[string]bool{
	"range": true, "if-none-match": true, "if-range": true, "cache-control": true,
}

func (h *handler) options(w http.ResponseWriter, r *http.Request, allowed bool) {
	hdr := w.Header()
	hdr.Set("Allow", "GET, HEAD, OPTIONS")
	reqMethod := headerList(r.Header, "Access-Control-Request-Method")
	if headerList(r.Header, "Origin") == "" || reqMethod == "" {
		// Not a CORS preflight: just say what is allowed.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !allowed {
		writeError(w, http.StatusForbidden, "origin not allowed")
		return
	}
	if reqMethod != http.MethodGet && reqMethod != http.MethodHead {
		writeError(w, http.StatusForbidden, "method not allowed")
		return
	}
	for _, f := range strings.Split(headerList(r.Header, "Access-Control-Request-Headers"), ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" && !allowedRequestHeaders[f] {
			writeError(w, http.StatusForbidden, "request header not allowed")
			return
		}
	}
	hdr.Set("Access-Control-Allow-Methods", "GET, HEAD")
	hdr.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Range, Cache-Control")
	hdr.Set("Access-Control-Max-Age", "86400")
	hdr.Add("Vary", "Access-Control-Request-Method")
	hdr.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// serveAddressed serves an immutable, content-addressed file: its ETag is known from the
// name, so HEAD and 304 cost one Stat and a range costs one ranged Read.
func (h *handler) serveAddressed(w http.ResponseWriter, r *http.Request, rt route) {
	hdr := w.Header()
	etag := `"` + rt.sha256 + `"`
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", cacheImmutable)
	hdr.Add("Vary", "Accept-Encoding")
	// The file is immutable, so a client holding any encoding of it holds it.
	for _, t := range append([]string{etag}, encodedETag(etag, storeEncodings[0].token), encodedETag(etag, storeEncodings[1].token)) {
		if notModified(r, t) {
			hdr.Set("ETag", t)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	info, err := h.store.Stat(r.Context(), rt.key)
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	if h.serveAddressedEncoded(w, r, rt, etag) {
		return
	}
	h.sendStored(w, r, rt, info.Size, etag)
}

// serveMutable serves a file that may change under the same name (manifest, index). Its
// ETag is the sha256 of its bytes, remembered by version (size, mtime or the store's ETag):
// a file is read whole and hashed once per version, and every other request streams it, or
// answers 304 without reading it at all.
func (h *handler) serveMutable(w http.ResponseWriter, r *http.Request, rt route) {
	info, err := h.store.Stat(r.Context(), rt.key)
	if errors.Is(err, fs.ErrNotExist) && rt.key == indexKey {
		if l, ok := h.store.(PackLister); ok {
			h.serveIndex(w, r, l)
			return
		}
	}
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	if info.Size > h.maxHash {
		h.serveLargeMutable(w, r, rt, info)
		return
	}
	if strings.HasPrefix(rt.ctype, "application/json") {
		w.Header().Add("Vary", "Accept-Encoding")
		if !h.identity && info.Size <= maxLiveGzip && info.Size >= MinCompress && wholeEncodable(r) &&
			acceptedEncodings(headerList(r.Header, "Accept-Encoding"))["gzip"] {
			h.serveWholeGzipped(w, r, rt)
			return
		}
	}
	v := infoVersion(info)
	if h.serveKnown(w, r, rt, v) {
		return
	}
	for !h.etags.lead(rt.key) {
		// Another request read this key meanwhile; its result is most likely ours.
		if h.serveKnown(w, r, rt, v) {
			return
		}
	}
	defer h.etags.done(rt.key)
	h.serveWhole(w, r, rt, v)
}

// serveKnown answers from a remembered ETag and reports whether it did: 304 at no read,
// else the planned bytes streamed from the store. It gives up (false, nothing written) when
// the file the store opens is not the version the ETag belongs to.
func (h *handler) serveKnown(w http.ResponseWriter, r *http.Request, rt route, v version) bool {
	etag, ok := h.etags.get(rt.key, v)
	if !ok {
		return false
	}
	hdr := w.Header()
	if notModified(r, etag) {
		hdr.Set("ETag", etag)
		hdr.Set("Cache-Control", cacheRevalidate)
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	off, n, status := h.planQuiet(r, v.size, etag)
	if status >= 400 || n == 0 || r.Method == http.MethodHead {
		hdr.Set("ETag", etag)
		hdr.Set("Cache-Control", cacheRevalidate)
		h.sendStored(w, r, rt, v.size, etag)
		return true
	}
	rc, err := h.store.Read(r.Context(), rt.key, off, n)
	if err != nil {
		h.storeError(w, rt.key, err)
		return true
	}
	defer rc.Close()
	if fv, ok := fileVersion(rc, v.etag); ok && !fv.equal(v) {
		return false // replaced between Stat and open: read the new one whole
	}
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", cacheRevalidate)
	h.plan(w, r, v.size, etag)
	hdr.Set("Content-Type", rt.ctype)
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	h.copyBody(w, rc, rt.key, n)
	return true
}

// serveWhole reads a small mutable file whole, hashes it, remembers the ETag for version v
// and sends the bytes it hashed.
func (h *handler) serveWhole(w http.ResponseWriter, r *http.Request, rt route, v version) {
	rc, err := h.store.Read(r.Context(), rt.key, 0, -1)
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	if fv, ok := fileVersion(rc, v.etag); ok {
		v = fv // the version of exactly the bytes read
	}
	b, err := io.ReadAll(io.LimitReader(rc, h.maxHash+1))
	rc.Close()
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	if int64(len(b)) > h.maxHash {
		// It grew between Stat and Read; refuse rather than hash an unbounded stream.
		h.storeError(w, rt.key, fmt.Errorf("serve: %s grew past %d bytes while read", rt.key, h.maxHash))
		return
	}
	if int64(len(b)) == v.size {
		h.etags.put(rt.key, v, strongETag(b))
	}
	h.serveBytes(w, r, b, rt.ctype)
}

// serveWholeGzipped reads a small mutable JSON file whole and sends it gzip-compressed (or as
// it is, should it have grown past what serveGzipped compresses).
func (h *handler) serveWholeGzipped(w http.ResponseWriter, r *http.Request, rt route) {
	rc, err := h.store.Read(r.Context(), rt.key, 0, -1)
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	b, err := io.ReadAll(io.LimitReader(rc, h.maxHash+1))
	rc.Close()
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	if int64(len(b)) > h.maxHash {
		h.storeError(w, rt.key, fmt.Errorf("serve: %s grew past %d bytes while read", rt.key, h.maxHash))
		return
	}
	if !h.serveGzipped(w, r, b, rt.ctype) {
		h.serveBytes(w, r, b, rt.ctype)
	}
}

func strongETag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (h *handler) serveBytes(w http.ResponseWriter, r *http.Request, b []byte, ctype string) {
	hdr := w.Header()
	etag := strongETag(b)
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", cacheRevalidate)
	if notModified(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	off, n, status := h.plan(w, r, int64(len(b)), etag)
	if status >= 400 {
		return
	}
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b[off : off+n])
	}
}

func (h *handler) serveLargeMutable(w http.ResponseWriter, r *http.Request, rt route, info Info) {
	hdr := w.Header()
	hdr.Set("Cache-Control", cacheRevalidate)
	if info.ETag != "" {
		hdr.Set("ETag", info.ETag)
		if notModified(r, info.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.sendStored(w, r, rt, info.Size, info.ETag)
}

// sendStored answers with the planned range of a stored file: headers, then (for GET) the
// bytes read from the store.
func (h *handler) sendStored(w http.ResponseWriter, r *http.Request, rt route, size int64, etag string) {
	off, n, status := h.plan(w, r, size, etag)
	if status >= 400 {
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", rt.ctype)
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method == http.MethodHead || n == 0 {
		w.WriteHeader(status)
		return
	}
	rc, err := h.store.Read(r.Context(), rt.key, off, n)
	if err != nil {
		h.storeError(w, rt.key, err)
		return
	}
	defer rc.Close()
	w.WriteHeader(status)
	h.copyBody(w, rc, rt.key, n)
}

// copyBody sends exactly the n bytes a Store promised. io.Copy (not CopyN) lets a store's
// reader implement io.WriterTo, which the Worker uses to hand R2's stream straight to
// the response.
func (h *handler) copyBody(w io.Writer, rc io.Reader, key string, n int64) {
	written, err := io.Copy(w, rc)
	if err != nil {
		h.log.Error("serve: copy", "key", key, "err", err)
	} else if written != n {
		h.log.Error("serve: store returned a different length", "key", key, "want", n, "got", written)
	}
}

// Index is the JSON body of /v1/packs/index.json.
type Index struct {
	Packs []string `json:"packs"`
}

func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request, l PackLister) {
	names, err := l.ListPacks(r.Context())
	if err != nil {
		h.storeError(w, indexKey, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	b, err := json.Marshal(Index{Packs: names})
	if err != nil {
		h.storeError(w, indexKey, err)
		return
	}
	h.serveBytes(w, r, append(b, '\n'), "application/json")
}

// plan decides between the whole body (200) and one range (206), as planQuiet does, and
// writes the headers that go with the decision; it writes the 416 response itself and then
// returns a status >= 400.
func (h *handler) plan(w http.ResponseWriter, r *http.Request, size int64, etag string) (off, n int64, status int) {
	hdr := w.Header()
	hdr.Set("Accept-Ranges", "bytes")
	off, n, status = h.planQuiet(r, size, etag)
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		// RFC 9110 15.5.17: every 416 says the current length, malformed or not overlapping.
		hdr.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable")
	case http.StatusPartialContent:
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
	}
	return off, n, status
}

// planQuiet is plan's decision without writing anything.
func (h *handler) planQuiet(r *http.Request, size int64, etag string) (off, n int64, status int) {
	spec := headerList(r.Header, "Range")
	if spec == "" || !ifRangeHolds(r, etag) {
		return 0, size, http.StatusOK
	}
	rg, err := parseRange(spec, size)
	switch {
	case errors.Is(err, errIgnoreRange):
		return 0, size, http.StatusOK
	case err != nil:
		return 0, 0, http.StatusRequestedRangeNotSatisfiable
	}
	return rg.start, rg.length, http.StatusPartialContent
}

func (h *handler) storeError(w http.ResponseWriter, key string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	h.log.Error("serve: store", "key", key, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// writeError answers with a JSON body that names the class of problem and nothing
// internal. Validators and caching from a half-built success response are dropped.
func writeError(w http.ResponseWriter, code int, msg string) {
	hdr := w.Header()
	for _, k := range []string{"ETag", "Content-Length", "Accept-Ranges"} {
		hdr.Del(k)
	}
	if code != http.StatusRequestedRangeNotSatisfiable {
		hdr.Del("Content-Range")
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(struct {
		Error string `json:"error"`
	}{msg})
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", cacheNone)
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
