package serve

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"testing/fstest"
)

// TestStoreEncodings: a content-addressed file is sent from its precompressed sibling when the
// client accepts that encoding and asks for the whole body; a range, a client without the
// encoding and a file without a sibling get the identity bytes; an encoded ETag revalidates; a
// small JSON manifest is gzip-compressed per request and decodes to its bytes.
func TestStoreEncodings(t *testing.T) {
	f := newFixture()
	fs := fstest.MapFS{}
	for k, v := range f.fs {
		fs[k] = v
	}
	br := []byte("pretend-brotli-of-the-model")
	fs["models/"+f.modelSum+".tmdl.br"] = &fstest.MapFile{Data: br}
	manifest := []byte(`{"labels":[` + strings.Repeat(`{"id":"x","credit":"the same credit line"},`, 40) + `{}]}`)
	fs["packs/big/manifest.json"] = &fstest.MapFile{Data: manifest}
	h := New(FSStore{FS: fs}, testOpts)
	modelURL := "/v1/models/" + f.modelSum + ".tmdl"
	shardURL := "/v1/packs/default/" + f.shardSum + ".bin"

	for _, c := range []struct {
		name, target string
		hdr          map[string]string
		status       int
		encoding     string
		body         []byte
	}{
		{"br accepted", modelURL, map[string]string{"Accept-Encoding": "gzip, br"}, 200, "br", br},
		{"br refused by q=0", modelURL, map[string]string{"Accept-Encoding": "gzip, br;q=0"}, 200, "", f.model},
		{"no Accept-Encoding", modelURL, nil, 200, "", f.model},
		{"range gets identity", modelURL, map[string]string{"Accept-Encoding": "br", "Range": "bytes=0-9"}, 206, "", f.model[:10]},
		{"no sibling", shardURL, map[string]string{"Accept-Encoding": "br, gzip"}, 200, "", f.shard},
		{"encoded etag revalidates", modelURL, map[string]string{"Accept-Encoding": "br", "If-None-Match": `"` + f.modelSum + `-br"`}, 304, "", nil},
		{"HEAD encoded", modelURL, map[string]string{"Accept-Encoding": "br"}, 200, "br", nil},
	} {
		method := "GET"
		if strings.HasPrefix(c.name, "HEAD") {
			method = "HEAD"
		}
		w := do(h, method, c.target, c.hdr)
		if w.Code != c.status || w.Header().Get("Content-Encoding") != c.encoding {
			t.Errorf("%s: status %d encoding %q, want %d %q", c.name, w.Code, w.Header().Get("Content-Encoding"), c.status, c.encoding)
			continue
		}
		if c.body != nil && !bytes.Equal(w.Body.Bytes(), c.body) {
			t.Errorf("%s: body %q..., want %q...", c.name, first(w.Body.Bytes()), first(c.body))
		}
		if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("%s: no Vary: Accept-Encoding", c.name)
		}
		if c.encoding != "" && w.Header().Get("ETag") == `"`+f.modelSum+`"` {
			t.Errorf("%s: encoded body shares the identity ETag", c.name)
		}
	}

	w := do(h, "GET", "/v1/packs/big/manifest.json", map[string]string{"Accept-Encoding": "gzip"})
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || w.Body.Len() >= len(manifest)/2 {
		t.Fatalf("manifest: status %d encoding %q, %d bytes for %d", w.Code, w.Header().Get("Content-Encoding"), w.Body.Len(), len(manifest))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, manifest) {
		t.Fatalf("manifest decodes to %d bytes (%v), want its %d", len(got), err, len(manifest))
	}
	w2 := do(h, "GET", "/v1/packs/big/manifest.json", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": w.Header().Get("ETag")})
	if w2.Code != 304 {
		t.Errorf("manifest revalidation: %d, want 304", w2.Code)
	}
	if w3 := do(h, "GET", "/v1/packs/big/manifest.json", nil); w3.Code != 200 || w3.Header().Get("Content-Encoding") != "" || !bytes.Equal(w3.Body.Bytes(), manifest) {
		t.Errorf("manifest without Accept-Encoding: %d %q", w3.Code, w3.Header().Get("Content-Encoding"))
	}
}

func first(b []byte) []byte { return b[:min(len(b), 16)] }
