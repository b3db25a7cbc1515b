package serve

import (
	"errors"
	"net/http"
	"strings"
)

const indexKey = "packs/index.json"

var (
	// errBadPath marks request paths that try to leave the store or smuggle separators;
	// they get 400 so a probe learns nothing about what exists.
	errBadPath = errors.New("serve: invalid path")
	errNoRoute = errors.New("serve: no such route")
)

// route is a request path resolved to a store key.
type route struct {
	key       string
	ctype     string
	addressed bool   // immutable, named by its sha256
	sha256    string // lower-case hex, when addressed
}

// headerList returns every field line of a header as one comma-separated list. Hosts hand
// headers over differently: net/http keeps each field line as sent, workerd joins repeated
// lines with ", " and syumai/workers then splits every value on ",". Reading only the first
// value (Header.Get) would see "bytes=0-1" of "bytes=0-1,2-3" in the Worker and the whole list
// locally; joining every value reads both alike (RFC 9110 5.3 allows the recombination).
func headerList(h http.Header, name string) string {
	v := h.Values(name)
	if len(v) == 1 {
		return v[0]
	}
	return strings.Join(v, ", ")
}

// requestPath is the path to route, as it was sent where the host lets us see that. A
// backslash is read as "/", which is what the WHATWG URL parser in front of the Worker
// (workerd, and Cloudflare's edge before it) does to it before any Go code runs: refusing
// it here could never be matched there, so both hosts read it the same way and the
// resulting path then meets the same grammar ("..\" is still "..", refused).
func requestPath(r *http.Request) string {
	p := r.URL.RawPath
	if p == "" {
		p = r.URL.EscapedPath()
	}
	return strings.ReplaceAll(p, `\`, "/")
}

// parseRoute maps the escaped request path to a store key. Only a fixed grammar of
// plain names is accepted, so no key can contain "..", a separator or an escape.
func parseRoute(p string) (route, error) {
	if len(p) > maxPathLen {
		return route{}, errBadPath
	}
	// Valid names never need escaping: any '%' is an attempt to smuggle "/", "\", ".." or NUL.
	if strings.ContainsAny(p, "%\\\x00") || strings.Contains(p, "..") || strings.Contains(p, "//") {
		return route{}, errBadPath
	}
	rest, ok := strings.CutPrefix(p, "/v1/")
	if !ok {
		return route{}, errNoRoute
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] == "models":
		sum, ext, ok := addressedName(parts[1])
		if !ok || ext != "tmdl" {
			return route{}, errNoRoute
		}
		return route{key: rest, ctype: contentType(ext), addressed: true, sha256: sum}, nil
	case len(parts) == 2 && parts[0] == "packs" && parts[1] == "index.json":
		return route{key: indexKey, ctype: "application/json"}, nil
	case len(parts) == 3 && parts[0] == "packs":
		if !validPackName(parts[1]) || !validFileName(parts[2]) {
			return route{}, errNoRoute
		}
		if sum, ext, ok := addressedName(parts[2]); ok {
			return route{key: rest, ctype: contentType(ext), addressed: true, sha256: sum}, nil
		}
		_, ext, _ := strings.Cut(parts[2], ".")
		return route{key: rest, ctype: contentType(lastExt(ext))}, nil
	}
	return route{}, errNoRoute
}

func lastExt(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// addressedName splits "<64 lower-case hex>.<ext>".
func addressedName(name string) (sum, ext string, ok bool) {
	sum, ext, found := strings.Cut(name, ".")
	if !found || len(sum) != 64 || ext == "" || len(ext) > 16 {
		return "", "", false
	}
	for i := 0; i < len(sum); i++ {
		c := sum[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	for i := 0; i < len(ext); i++ {
		c := ext[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return "", "", false
		}
	}
	return sum, ext, true
}

// ValidPackName reports whether name may name a pack in a store (/v1/packs/<name>/): 1..64
// bytes of lower-case letters, digits, '.', '_', '-', starting with a letter or digit.
func ValidPackName(name string) bool { return validPackName(name) }

func validPackName(name string) bool {
	if len(name) == 0 || len(name) > 64 || !alnum(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(alnum(c) && (c < 'A' || c > 'Z') || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validFileName(name string) bool {
	if len(name) == 0 || len(name) > 128 || !alnum(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(alnum(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// contentType is fixed per extension rather than taken from the OS mime table, so both
// hosts answer the same.
func contentType(ext string) string {
	switch ext {
	case "json":
		return "application/json"
	case "wasm":
		return "application/wasm"
	case "png":
		return "image/png"
	case "jpg", "jpeg":
		return "image/jpeg"
	case "webp":
		return "image/webp"
	default:
		return "application/octet-stream"
	}
}

// notModified reports whether If-None-Match matches etag (weak comparison, RFC 9110 13.1.2).
func notModified(r *http.Request, etag string) bool {
	inm := headerList(r.Header, "If-None-Match")
	if inm == "" || etag == "" {
		return false
	}
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// ifRangeHolds reports whether a Range header may be honoured given If-Range: an entity
// tag must match strongly; a date never matches because no Last-Modified is sent.
func ifRangeHolds(r *http.Request, etag string) bool {
	ir := strings.TrimSpace(headerList(r.Header, "If-Range"))
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		return etag != "" && !strings.HasPrefix(etag, "W/") && ir == etag
	}
	return false
}
