package serve

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkHandler measures the handler's own cost per request over the directory store
// (no network): what one core spends per request in toonid serve.
func BenchmarkHandler(b *testing.B) {
	f := newFixture()
	dir := b.TempDir()
	for name, file := range f.fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, file.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ds, err := Dir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	h := New(ds, testOpts)
	shard := "/v1/packs/default/" + f.shardSum + ".bin"
	for _, bc := range []struct {
		name, target string
		hdr          map[string]string
		status       int
	}{
		{"shard-3KB", shard, nil, 200},
		{"shard-range-1KB", shard, map[string]string{"Range": "bytes=0-1023"}, 206},
		{"shard-304", shard, map[string]string{"If-None-Match": `"` + f.shardSum + `"`}, 304},
		{"manifest", "/v1/packs/default/manifest.json", nil, 200},
		{"index", "/v1/packs/index.json", nil, 200},
		{"preflight", shard, map[string]string{"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "GET"}, 204},
	} {
		b.Run(bc.name, func(b *testing.B) {
			method := "GET"
			if bc.status == 204 {
				method = "OPTIONS"
			}
			req := httptest.NewRequest(method, bc.target, nil)
			for k, v := range bc.hdr {
				req.Header.Set(k, v)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != bc.status {
					b.Fatalf("status %d, want %d", w.Code, bc.status)
				}
			}
		})
	}
}

var _ http.Handler = New(FSStore{}, Options{})
