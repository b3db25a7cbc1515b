package serve

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// storeEncodings are the precompressed siblings a store may hold next to a content-addressed
// file (models/<sum>.tmdl.br beside models/<sum>.tmdl), best first. `toonid` writes them at
// build time (serve/internal/precompress -store); the handler never compresses a model or a
// shard per request.
var storeEncodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// encodedETag is the validator of one encoding of a file: a different representation must not
// share the identity's strong ETag (RFC 9110 8.8.3).
func encodedETag(etag, token string) string {
	if etag == "" {
		return ""
	}
	return strings.TrimSuffix(etag, `"`) + "-" + token + `"`
}

// wholeEncodable reports whether r asks for a whole body (GET or HEAD, no Range), which is when
// an encoded copy may answer: a range of an encoded body is not a range of the file.
func wholeEncodable(r *http.Request) bool {
	return headerList(r.Header, "Range") == ""
}

// serveAddressedEncoded answers r with the store's precompressed sibling of rt, when the client
// accepts its encoding and the store holds it, and reports whether it did.
func (h *handler) serveAddressedEncoded(w http.ResponseWriter, r *http.Request, rt route, etag string) bool {
	if h.identity || !wholeEncodable(r) {
		return false
	}
	accept := acceptedEncodings(headerList(r.Header, "Accept-Encoding"))
	for _, enc := range storeEncodings {
		if !accept[enc.token] {
			continue
		}
		info, err := h.store.Stat(r.Context(), rt.key+enc.ext)
		if err != nil || info.Size <= 0 {
			continue // none (or unreadable): the identity copy answers
		}
		hdr := w.Header()
		hdr.Set("ETag", encodedETag(etag, enc.token))
		hdr.Set("Content-Encoding", enc.token)
		hdr.Set("Content-Type", rt.ctype)
		hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return true
		}
		rc, err := h.store.Read(r.Context(), rt.key+enc.ext, 0, -1)
		if err != nil {
			hdr.Del("Content-Encoding")
			hdr.Set("ETag", etag)
			h.storeError(w, rt.key, err)
			return true
		}
		defer rc.Close()
		w.WriteHeader(http.StatusOK)
		h.copyBody(w, rc, rt.key+enc.ext, info.Size)
		return true
	}
	return false
}

// serveGzipped sends b (a small mutable JSON file: a manifest, the index) gzip-compressed when
// the client accepts it and asks for the whole body, and reports whether it did. A manifest is
// mostly label names and credits and shrinks about 5x.
func (h *handler) serveGzipped(w http.ResponseWriter, r *http.Request, b []byte, ctype string) bool {
	if h.identity || !wholeEncodable(r) || len(b) < MinCompress || !strings.HasPrefix(ctype, "application/json") ||
		!acceptedEncodings(headerList(r.Header, "Accept-Encoding"))["gzip"] {
		return false
	}
	etag := encodedETag(strongETag(b), "gzip")
	hdr := w.Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", cacheRevalidate)
	if notModified(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	if zw.Close() != nil {
		return false
	}
	hdr.Set("Content-Encoding", "gzip")
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	return true
}
