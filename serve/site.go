package serve

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// siteTypes fixes the types a browser is strict about (module scripts, service worker,
// wasm streaming compile) instead of trusting the OS mime table.
var siteTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
}

// Compressible reports whether files with this name are worth compressing: text and wasm.
// Images are compressed already. The site build precompresses exactly these (see
// serve/internal/precompress).
func Compressible(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".wasm", ".svg", ".txt", ".md", ".ico":
		return true
	}
	return false
}

const (
	// maxSitePath bounds the request path: longer names cannot exist in a site we build, and
	// the OS would answer ENAMETOOLONG, which must not become a 500.
	maxSitePath = 1024
	// maxLiveGzip is the largest file compressed per request when the build left no
	// precompressed copy; larger ones (the wasm) are sent as they are rather than recompressed
	// on every load.
	maxLiveGzip = 512 << 10
)

// MinCompress is the smallest site file worth compressing (live or precompressed at build):
// below it the header costs more than it saves.
const MinCompress = 512

// SiteOptions configure Site.
type SiteOptions struct {
	// Log receives errors other than a missing file; nil discards them.
	Log *slog.Logger
}

// Site serves the static demo site from fsys. Files are revalidated on every load
// (no-cache) because their names are not content-addressed.
//
// It answers 404, as the API does, for anything that is not a regular file the site holds:
// directories (no listings; a directory's index.html is served for its path ending in "/"),
// dotfiles, names too long for the OS, symlinks leading out of an os.Root. A compressible file
// is sent brotli or gzip encoded when the client accepts it, from the <name>.br / <name>.gz the
// build wrote next to it (never compressed again per request), else, for small text, gzip
// compressed on the fly.
func Site(fsys fs.FS, opts ...SiteOptions) http.Handler {
	log := slog.New(slog.DiscardHandler)
	if len(opts) > 0 && opts[0].Log != nil {
		log = opts[0].Log
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			hdr.Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		name, ok := siteName(r.URL.Path)
		if !ok {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		f, fi, err := openRegular(fsys, name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Warn("serve: site", "path", name, "err", err)
			}
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		defer f.Close()
		ctype, ok := siteTypes[strings.ToLower(path.Ext(name))]
		if !ok {
			ctype = "application/octet-stream"
		}
		hdr.Set("Content-Type", ctype)
		hdr.Set("Cache-Control", cacheRevalidate)
		if !Compressible(name) {
			serveContent(w, r, fi, f)
			return
		}
		hdr.Add("Vary", "Accept-Encoding")
		accept := acceptedEncodings(headerList(r.Header, "Accept-Encoding"))
		for _, enc := range []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
			if !accept[enc.token] {
				continue
			}
			cf, cfi, err := openRegular(fsys, name+enc.ext)
			if err != nil {
				continue
			}
			defer cf.Close()
			if cfi.ModTime().Before(fi.ModTime()) {
				continue // older than its source: a stale copy from an earlier build
			}
			hdr.Set("Content-Encoding", enc.token)
			serveContent(encodedWriter{w, cfi.Size()}, withoutRange(r), cfi, cf)
			return
		}
		if accept["gzip"] && fi.Size() >= MinCompress && fi.Size() <= maxLiveGzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if _, err := io.Copy(zw, f); err == nil && zw.Close() == nil {
				hdr.Set("Content-Encoding", "gzip")
				w.Header().Set("Accept-Ranges", "bytes")
				http.ServeContent(encodedWriter{w, int64(buf.Len())}, withoutRange(r), "", fi.ModTime(), bytes.NewReader(buf.Bytes()))
				return
			}
			log.Warn("serve: site: gzip", "path", name)
			s, ok := f.(io.Seeker)
			if !ok {
				writeError(w, http.StatusInternalServerError, "internal error")
				return
			}
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				writeError(w, http.StatusInternalServerError, "internal error")
				return
			}
		}
		serveContent(w, r, fi, f)
	})
}

// siteName turns a request path into a file name in the site, or reports that it cannot name
// one (too long, a dot segment or dotfile anywhere).
func siteName(p string) (string, bool) {
	if len(p) > maxSitePath || strings.ContainsRune(p, 0) {
		return "", false
	}
	if strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name == "" {
		name = "index.html"
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if !fs.ValidPath(name) {
		return "", false
	}
	return name, true
}

// openRegular opens name only if it is a regular file: a directory (which FileServer would
// list), device or FIFO is reported as missing.
func openRegular(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	// Stat first: opening a FIFO blocks until a writer comes (Root's FS opens non-blocking,
	// but other file systems need not).
	if fi, err := fs.Stat(fsys, name); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, fs.ErrNotExist
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

// serveContent sends f with ranges and conditionals (Last-Modified) from net/http; f must be
// seekable, as files from os.Root and fstest.MapFS are.
func serveContent(w http.ResponseWriter, r *http.Request, fi fs.FileInfo, f fs.File) {
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		rs = bytes.NewReader(b)
	}
	w.Header().Set("Accept-Ranges", "bytes")
	http.ServeContent(w, r, "", fi.ModTime(), rs)
}

// withoutRange drops Range from a request answered with an encoded body: a range of the
// compressed bytes is of no use to a client that asked for the file, so the whole encoded
// body is sent (RFC 9110 14.2 lets a server ignore Range).
func withoutRange(r *http.Request) *http.Request {
	if r.Header.Get("Range") == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Del("Range")
	r2.Header.Del("If-Range")
	return r2
}

// encodedWriter sets Content-Length on a 200 with Content-Encoding, which ServeContent leaves
// out; the size of the encoded body is known, so the client gets a length, not chunks.
type encodedWriter struct {
	http.ResponseWriter
	size int64
}

func (w encodedWriter) WriteHeader(code int) {
	if code == http.StatusOK && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.FormatInt(w.size, 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w encodedWriter) Write(b []byte) (int, error) { return w.ResponseWriter.Write(b) }

// acceptedEncodings parses Accept-Encoding (RFC 9110 12.5.3): the codings with q > 0, and
// through "*" any coding not named.
func acceptedEncodings(v string) map[string]bool {
	named := map[string]float64{}
	for _, part := range strings.Split(v, ",") {
		token, params, _ := strings.Cut(part, ";")
		token = strings.ToLower(strings.TrimSpace(token))
		if token == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				} else {
					q = 0
				}
			}
		}
		named[token] = q
	}
	out := map[string]bool{}
	for _, c := range []string{"br", "gzip"} {
		q, ok := named[c]
		if !ok {
			q, ok = named["*"]
		}
		out[c] = ok && q > 0
	}
	return out
}

// WithSite routes /v1/ to api and everything else to the site, as toonid serve does.
// It deliberately is not an http.ServeMux: the mux would answer "/v1/../x" with a
// redirect to its cleaned path instead of letting api refuse it.
func WithSite(api, site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(requestPath(r), "/v1/") {
			api.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}
