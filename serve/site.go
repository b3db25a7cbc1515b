package serve

import (
	"io/fs"
	"net/http"
	"path"
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

// Site serves the static demo site from fsys. Files are revalidated on every load
// (no-cache) because their names are not content-addressed.
func Site(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		p := r.URL.Path
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		hdr := w.Header()
		if ct, ok := siteTypes[strings.ToLower(path.Ext(p))]; ok {
			hdr.Set("Content-Type", ct)
		}
		hdr.Set("Cache-Control", cacheRevalidate)
		hdr.Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// WithSite routes /v1/ to api and everything else to the site, as toonid serve does.
// It deliberately is not an http.ServeMux: the mux would answer "/v1/../x" with a
// redirect to its cleaned path instead of letting api refuse it.
func WithSite(api, site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(r.URL.EscapedPath(), "/v1/") {
			api.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}
