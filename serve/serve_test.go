package serve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fixture is a small store: one model, one pack with a manifest and two shards.
type fixture struct {
	fs       fstest.MapFS
	model    []byte
	modelSum string
	shard    []byte
	shardSum string
	wasm     []byte
	wasmSum  string
	manifest []byte
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func newFixture() fixture {
	var f fixture
	f.model = bytes.Repeat([]byte("model-bytes-0123456789"), 50) // 1100 bytes
	f.modelSum = hexSum(f.model)
	f.shard = make([]byte, 3000)
	for i := range f.shard {
		f.shard[i] = byte(i * 7)
	}
	f.shardSum = hexSum(f.shard)
	f.wasm = []byte("\x00asm\x01\x00\x00\x00")
	f.wasmSum = hexSum(f.wasm)
	f.manifest = []byte(fmt.Sprintf(`{"version":1,"shards":["%s.bin"]}`+"\n", f.shardSum))
	f.fs = fstest.MapFS{
		"models/" + f.modelSum + ".tmdl":          {Data: f.model},
		"packs/default/manifest.json":             {Data: f.manifest},
		"packs/default/" + f.shardSum + ".bin":    {Data: f.shard},
		"packs/default/" + f.wasmSum + ".wasm":    {Data: f.wasm},
		"packs/other/manifest.json":               {Data: []byte("{}")},
		"packs/nomanifest/" + f.shardSum + ".bin": {Data: f.shard},
	}
	return f
}

var testOpts = Options{AllowedOrigins: []string{"http://127.0.0.1:8080", "chrome-extension://abcdefghijklmnop"}}

// do runs one request against h; hdr sets request headers.
func do(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	f := newFixture()
	h := New(FSStore{FS: f.fs}, testOpts)
	modelURL := "/v1/models/" + f.modelSum + ".tmdl"
	shardURL := "/v1/packs/default/" + f.shardSum + ".bin"
	manSum := `"` + hexSum(f.manifest) + `"`
	tests := []struct {
		name       string
		method     string
		target     string
		hdr        map[string]string
		status     int
		body       []byte            // nil: not checked; checked exactly otherwise
		want       map[string]string // response headers that must equal these
		absent     []string          // response headers that must not be set
		jsonErrMsg string            // expected {"error": ...}
	}{
		{name: "model", method: "GET", target: modelURL, status: 200, body: f.model, want: map[string]string{
			"Content-Type": "application/octet-stream", "Content-Length": "1100", "ETag": `"` + f.modelSum + `"`,
			"Cache-Control": "public, max-age=31536000, immutable", "Accept-Ranges": "bytes"}},
		{name: "model HEAD", method: "HEAD", target: modelURL, status: 200, body: []byte{}, want: map[string]string{
			"Content-Length": "1100", "ETag": `"` + f.modelSum + `"`}},
		{name: "shard", method: "GET", target: shardURL, status: 200, body: f.shard, want: map[string]string{
			"Content-Type": "application/octet-stream", "Content-Length": "3000", "ETag": `"` + f.shardSum + `"`}},
		{name: "wasm shard type", method: "GET", target: "/v1/packs/default/" + f.wasmSum + ".wasm", status: 200,
			body: f.wasm, want: map[string]string{"Content-Type": "application/wasm"}},
		{name: "manifest", method: "GET", target: "/v1/packs/default/manifest.json", status: 200, body: f.manifest,
			want: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-cache", "ETag": manSum,
				"Content-Length": fmt.Sprint(len(f.manifest))}},
		{name: "manifest HEAD", method: "HEAD", target: "/v1/packs/default/manifest.json", status: 200, body: []byte{},
			want: map[string]string{"ETag": manSum, "Content-Length": fmt.Sprint(len(f.manifest))}},
		{name: "query ignored", method: "GET", target: modelURL + "?v=1", status: 200, body: f.model},

		// 304
		{name: "304 model", method: "GET", target: modelURL, hdr: map[string]string{"If-None-Match": `"` + f.modelSum + `"`},
			status: 304, body: []byte{}, want: map[string]string{"ETag": `"` + f.modelSum + `"`,
				"Cache-Control": "public, max-age=31536000, immutable"}},
		{name: "304 list and weak", method: "GET", target: modelURL,
			hdr: map[string]string{"If-None-Match": `"x", W/"` + f.modelSum + `"`}, status: 304, body: []byte{}},
		{name: "304 star", method: "HEAD", target: modelURL, hdr: map[string]string{"If-None-Match": `*`}, status: 304},
		{name: "304 manifest", method: "GET", target: "/v1/packs/default/manifest.json",
			hdr: map[string]string{"If-None-Match": manSum}, status: 304, body: []byte{}, want: map[string]string{"ETag": manSum}},
		{name: "200 on stale etag", method: "GET", target: "/v1/packs/default/manifest.json",
			hdr: map[string]string{"If-None-Match": `"` + f.modelSum + `"`}, status: 200, body: f.manifest},
		{name: "304 missing shard is still 304", method: "GET", target: "/v1/packs/default/" + strings.Repeat("0", 64) + ".bin",
			hdr: map[string]string{"If-None-Match": `"` + strings.Repeat("0", 64) + `"`}, status: 304},

		// ranges
		{name: "206 first bytes", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=0-9"}, status: 206,
			body: f.shard[:10], want: map[string]string{"Content-Range": "bytes 0-9/3000", "Content-Length": "10"}},
		{name: "206 open end", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=2990-"}, status: 206,
			body: f.shard[2990:], want: map[string]string{"Content-Range": "bytes 2990-2999/3000"}},
		{name: "206 suffix", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=-5"}, status: 206,
			body: f.shard[2995:], want: map[string]string{"Content-Range": "bytes 2995-2999/3000"}},
		{name: "206 end clipped", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=100-999999"},
			status: 206, body: f.shard[100:], want: map[string]string{"Content-Range": "bytes 100-2999/3000"}},
		{name: "206 manifest", method: "GET", target: "/v1/packs/default/manifest.json",
			hdr: map[string]string{"Range": "bytes=1-3"}, status: 206, body: f.manifest[1:4]},
		{name: "206 HEAD", method: "HEAD", target: shardURL, hdr: map[string]string{"Range": "bytes=0-9"}, status: 206,
			body: []byte{}, want: map[string]string{"Content-Length": "10", "Content-Range": "bytes 0-9/3000"}},
		{name: "416 past end", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=3000-"}, status: 416,
			want: map[string]string{"Content-Range": "bytes */3000"}, absent: []string{"ETag"}, jsonErrMsg: "range not satisfiable"},
		{name: "416 reversed", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=9-2"}, status: 416,
			want: map[string]string{"Content-Range": "bytes */3000"}},
		{name: "416 bad unit", method: "GET", target: shardURL, hdr: map[string]string{"Range": "items=0-1"}, status: 416},
		{name: "416 zero suffix", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=-0"}, status: 416},
		{name: "multi-range serves whole", method: "GET", target: shardURL, hdr: map[string]string{"Range": "bytes=0-1,5-6"},
			status: 200, body: f.shard},
		{name: "If-Range match", method: "GET", target: shardURL,
			hdr: map[string]string{"Range": "bytes=0-1", "If-Range": `"` + f.shardSum + `"`}, status: 206, body: f.shard[:2]},
		{name: "If-Range mismatch", method: "GET", target: shardURL,
			hdr: map[string]string{"Range": "bytes=0-1", "If-Range": `"other"`}, status: 200, body: f.shard},
		{name: "If-Range date", method: "GET", target: shardURL,
			hdr: map[string]string{"Range": "bytes=0-1", "If-Range": "Mon, 02 Jan 2006 15:04:05 GMT"}, status: 200, body: f.shard},

		// index
		{name: "index generated", method: "GET", target: "/v1/packs/index.json", status: 200,
			body: []byte(`{"packs":["default","other"]}` + "\n"), want: map[string]string{"Cache-Control": "no-cache",
				"Content-Type": "application/json"}},

		// 404
		{name: "404 missing model", method: "GET", target: "/v1/models/" + strings.Repeat("a", 64) + ".tmdl", status: 404,
			absent: []string{"ETag", "Accept-Ranges"}, jsonErrMsg: "not found"},
		{name: "404 missing manifest", method: "GET", target: "/v1/packs/nope/manifest.json", status: 404, jsonErrMsg: "not found"},
		{name: "404 root", method: "GET", target: "/", status: 404},
		{name: "404 v2", method: "GET", target: "/v2/models/" + f.modelSum + ".tmdl", status: 404},
		{name: "404 upper-case hex", method: "GET", target: "/v1/models/" + strings.ToUpper(f.modelSum) + ".tmdl", status: 404},
		{name: "404 model wrong ext", method: "GET", target: "/v1/models/" + f.modelSum + ".bin", status: 404},
		{name: "404 short hash", method: "GET", target: "/v1/models/abc.tmdl", status: 404},
		{name: "404 pack dir", method: "GET", target: "/v1/packs/default/", status: 404},
		{name: "404 pack dir no slash", method: "GET", target: "/v1/packs/default", status: 404},
		{name: "404 deep", method: "GET", target: "/v1/packs/default/a/b", status: 404},
		{name: "404 hidden file", method: "GET", target: "/v1/packs/default/.manifest.json", status: 404},
		{name: "404 upper-case pack", method: "GET", target: "/v1/packs/Default/manifest.json", status: 404},
		{name: "404 HEAD", method: "HEAD", target: "/v1/packs/nope/manifest.json", status: 404},

		// 405
		{name: "405 POST", method: "POST", target: modelURL, status: 405, want: map[string]string{"Allow": "GET, HEAD, OPTIONS"},
			jsonErrMsg: "method not allowed"},
		{name: "405 PUT", method: "PUT", target: "/v1/packs/default/manifest.json", status: 405},
		{name: "405 DELETE", method: "DELETE", target: modelURL, status: 405},
		{name: "405 PATCH unknown path", method: "PATCH", target: "/v1/x", status: 405},

		// traversal and smuggling: refused before the store is asked
		{name: "dotdot", method: "GET", target: "/v1/packs/../../etc/passwd", status: 400, jsonErrMsg: "invalid path"},
		{name: "dotdot in pack", method: "GET", target: "/v1/packs/../models/" + f.modelSum + ".tmdl", status: 400},
		{name: "encoded slash", method: "GET", target: "/v1/packs/default%2F..%2F..%2Fetc/manifest.json", status: 400},
		{name: "encoded dots", method: "GET", target: "/v1/packs/%2e%2e/manifest.json", status: 400},
		{name: "encoded backslash", method: "GET", target: "/v1/packs/default%5Cx/manifest.json", status: 400},
		{name: "double slash", method: "GET", target: "/v1//etc/passwd", status: 400},
		{name: "absolute in pack", method: "GET", target: "/v1/packs//etc/manifest.json", status: 400},
		{name: "encoded NUL", method: "GET", target: "/v1/packs/default/manifest.json%00", status: 400},
		{name: "overlong", method: "GET", target: "/v1/packs/" + strings.Repeat("a", 600) + "/manifest.json", status: 400},

		// CORS
		{name: "CORS allowed origin", method: "GET", target: modelURL, hdr: map[string]string{"Origin": "http://127.0.0.1:8080"},
			status: 200, want: map[string]string{"Access-Control-Allow-Origin": "http://127.0.0.1:8080",
				"Access-Control-Expose-Headers": "ETag, Content-Length, Content-Range, Accept-Ranges", "Vary": "Origin"}},
		{name: "CORS extension origin", method: "GET", target: "/v1/packs/default/manifest.json",
			hdr: map[string]string{"Origin": "chrome-extension://abcdefghijklmnop"}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "chrome-extension://abcdefghijklmnop"}},
		{name: "CORS on errors", method: "GET", target: "/v1/packs/nope/manifest.json",
			hdr: map[string]string{"Origin": "http://127.0.0.1:8080"}, status: 404,
			want: map[string]string{"Access-Control-Allow-Origin": "http://127.0.0.1:8080"}},
		{name: "CORS other origin", method: "GET", target: modelURL, hdr: map[string]string{"Origin": "https://evil.example"},
			status: 200, absent: []string{"Access-Control-Allow-Origin"}},
		{name: "preflight", method: "OPTIONS", target: shardURL, hdr: map[string]string{"Origin": "http://127.0.0.1:8080",
			"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range, if-none-match"}, status: 204,
			want: map[string]string{"Access-Control-Allow-Origin": "http://127.0.0.1:8080",
				"Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Max-Age": "86400",
				"Access-Control-Allow-Headers": "Range, If-None-Match, If-Range, Cache-Control"}},
		{name: "preflight other origin", method: "OPTIONS", target: shardURL, hdr: map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, status: 403,
			absent: []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods"}},
		{name: "preflight for POST", method: "OPTIONS", target: shardURL, hdr: map[string]string{
			"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "POST"}, status: 403,
			absent: []string{"Access-Control-Allow-Methods"}},
		{name: "preflight odd header", method: "OPTIONS", target: shardURL, hdr: map[string]string{
			"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "GET",
			"Access-Control-Request-Headers": "x-secret"}, status: 403},
		{name: "plain OPTIONS", method: "OPTIONS", target: shardURL, status: 204,
			want: map[string]string{"Allow": "GET, HEAD, OPTIONS"}, absent: []string{"Access-Control-Allow-Origin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, tc.method, tc.target, tc.hdr)
			res := w.Result()
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %q", res.StatusCode, tc.status, w.Body.String())
			}
			for k, v := range tc.want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tc.absent {
				if got := res.Header.Get(k); got != "" {
					t.Errorf("%s = %q, want unset", k, got)
				}
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body) {
				t.Errorf("body = %q (%d bytes), want %d bytes", trunc(w.Body.Bytes()), w.Body.Len(), len(tc.body))
			}
			if res.StatusCode >= 400 {
				checkJSONError(t, res.Header, w.Body.Bytes(), tc.jsonErrMsg, tc.method)
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// checkJSONError asserts the error body is exactly {"error": msg} (any msg when empty).
func checkJSONError(t *testing.T, hdr http.Header, body []byte, msg, method string) {
	t.Helper()
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	if cc := hdr.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error Cache-Control = %q", cc)
	}
	if method == "HEAD" {
		return
	}
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if len(e) != 1 || e["error"] == nil {
		t.Errorf("error body = %s, want only an error field", body)
	}
	if msg != "" && e["error"] != msg {
		t.Errorf("error = %v, want %q", e["error"], msg)
	}
}

func TestNULPathRefused(t *testing.T) {
	h := New(FSStore{FS: newFixture().fs}, Options{})
	r := httptest.NewRequest("GET", "/", nil)
	r.URL = &url.URL{Path: "/v1/packs/default/manifest.json\x00.bin"}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Fatalf("status = %d, want 400", w.Code)
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	f := newFixture()
	h := New(FSStore{FS: f.fs}, Options{AllowedOrigins: []string{"*"}})
	w := do(h, "GET", "/v1/packs/default/manifest.json", map[string]string{"Origin": "https://anywhere.example"})
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("Access-Control-Allow-Origin = %q, want *", got)
	}
}

func TestStoredIndexWins(t *testing.T) {
	f := newFixture()
	f.fs["packs/index.json"] = &fstest.MapFile{Data: []byte(`{"packs":["published"]}`)}
	w := do(New(FSStore{FS: f.fs}, Options{}), "GET", "/v1/packs/index.json", nil)
	if w.Code != 200 || w.Body.String() != `{"packs":["published"]}` {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

// failStore fails every call with an error carrying internal detail.
type failStore struct{ statErr, readErr error }

func (s failStore) Stat(ctx context.Context, key string) (Info, error) {
	if s.statErr != nil {
		return Info{}, s.statErr
	}
	return Info{Size: 10}, nil
}

func (s failStore) Read(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	return nil, s.readErr
}

func TestStoreErrorsHideDetail(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:443: r2 secret bucket-internal-name")
	sum := strings.Repeat("b", 64)
	for _, s := range []failStore{{statErr: secret}, {readErr: secret}} {
		for _, target := range []string{"/v1/models/" + sum + ".tmdl", "/v1/packs/p/manifest.json"} {
			w := do(New(s, Options{}), "GET", target, nil)
			if w.Code != 500 {
				t.Errorf("%s: status %d, want 500", target, w.Code)
			}
			if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Errorf("%s: body leaks detail: %s", target, w.Body.String())
			}
			checkJSONError(t, w.Header(), w.Body.Bytes(), "internal error", "GET")
		}
	}
}

func TestLargeMutableUsesStoreETag(t *testing.T) {
	f := newFixture()
	big := bytes.Repeat([]byte("x"), 100)
	f.fs["packs/big/manifest.json"] = &fstest.MapFile{Data: big}
	h := New(etagStore{FSStore{FS: f.fs}}, Options{MaxHashedSize: 50})
	w := do(h, "GET", "/v1/packs/big/manifest.json", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), big) || w.Header().Get("ETag") != `"store-etag"` {
		t.Fatalf("got %d, %d bytes, ETag %q", w.Code, w.Body.Len(), w.Header().Get("ETag"))
	}
	if w := do(h, "GET", "/v1/packs/big/manifest.json", map[string]string{"If-None-Match": `"store-etag"`}); w.Code != 304 {
		t.Fatalf("If-None-Match: got %d, want 304", w.Code)
	}
	if w := do(h, "GET", "/v1/packs/big/manifest.json", map[string]string{"Range": "bytes=98-"}); w.Code != 206 || w.Body.String() != "xx" {
		t.Fatalf("Range: got %d %q", w.Code, w.Body.String())
	}
}

type etagStore struct{ FSStore }

func (s etagStore) Stat(ctx context.Context, key string) (Info, error) {
	info, err := s.FSStore.Stat(ctx, key)
	info.ETag = `"store-etag"`
	return info, err
}

// TestRangesMatchServeContent compares single-range answers with net/http.ServeContent.
func TestRangesMatchServeContent(t *testing.T) {
	f := newFixture()
	h := New(FSStore{FS: f.fs}, Options{})
	target := "/v1/packs/default/" + f.shardSum + ".bin"
	etag := `"` + f.shardSum + `"`
	ranges := []string{"bytes=0-0", "bytes=0-", "bytes=1-2", "bytes=2999-", "bytes=2999-2999", "bytes=-1", "bytes=-3000",
		"bytes=-5000", "bytes=100-99999", "bytes= 7 - 9", "bytes=3000-", "bytes=3001-3005", "bytes=5-4", "bytes=abc",
		"bytes=-", "bytes=1", "bytes=--1", "bytes=-1-2", "pages=1-2", "bytes=99999999999999999999-"}
	// Deliberate difference: ServeContent lets strconv accept a sign; the Range grammar
	// (RFC 9110 14.1.1) is digits only, so these are 416 here.
	for _, rg := range []string{"bytes=+1-2", "bytes=0-+2"} {
		if w := do(h, "GET", target, map[string]string{"Range": rg}); w.Code != 416 {
			t.Errorf("%q: status %d, want 416", rg, w.Code)
		}
	}
	for _, rg := range ranges {
		got := do(h, "GET", target, map[string]string{"Range": rg})
		ref := httptest.NewRecorder()
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Range", rg)
		ref.Header().Set("ETag", etag)
		http.ServeContent(ref, req, "x.bin", time.Time{}, bytes.NewReader(f.shard))
		if got.Code != ref.Code {
			t.Errorf("%q: status %d, ServeContent %d", rg, got.Code, ref.Code)
			continue
		}
		if got.Code == 416 {
			if want := "bytes */3000"; got.Header().Get("Content-Range") != want {
				t.Errorf("%q: Content-Range %q, want %q", rg, got.Header().Get("Content-Range"), want)
			}
		} else if got.Header().Get("Content-Range") != ref.Header().Get("Content-Range") {
			t.Errorf("%q: Content-Range %q, ServeContent %q", rg, got.Header().Get("Content-Range"), ref.Header().Get("Content-Range"))
		}
		if got.Code < 300 && !bytes.Equal(got.Body.Bytes(), ref.Body.Bytes()) {
			t.Errorf("%q: body differs from ServeContent", rg)
		}
	}
}

func TestDirStore(t *testing.T) {
	f := newFixture()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for name, file := range f.fs {
		p := filepath.Join(store, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, file.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"secret":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink inside the store that points outside it must not be followed.
	if err := os.MkdirAll(filepath.Join(store, "packs", "evil"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(store, "packs", "evil", "manifest.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(store, "packs", "up")); err != nil {
		t.Fatal(err)
	}
	ds, err := Dir(store)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	h := New(ds, Options{})
	for _, tc := range []struct {
		target string
		status int
		body   []byte
	}{
		{"/v1/models/" + f.modelSum + ".tmdl", 200, f.model},
		{"/v1/packs/default/manifest.json", 200, f.manifest},
		{"/v1/packs/default/" + f.shardSum + ".bin", 200, f.shard},
		{"/v1/packs/evil/manifest.json", 404, nil},
		{"/v1/packs/up/secret.json", 404, nil},
		{"/v1/packs/default/missing.json", 404, nil},
	} {
		w := do(h, "GET", tc.target, nil)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.target, w.Code, tc.status, w.Body.String())
		}
		if tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body) {
			t.Errorf("%s: body differs", tc.target)
		}
		if strings.Contains(w.Body.String(), "secret") {
			t.Errorf("%s: leaked a file outside the store", tc.target)
		}
	}
	w := do(h, "GET", "/v1/models/"+f.modelSum+".tmdl", map[string]string{"Range": "bytes=1000-"})
	if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), f.model[1000:]) {
		t.Errorf("dir range: %d, %d bytes", w.Code, w.Body.Len())
	}
	names, err := ds.ListPacks(context.Background())
	if err != nil || strings.Join(names, ",") != "default,other" {
		t.Errorf("ListPacks = %v, %v; want default,other", names, err)
	}
}

// TestRawRequestLines sends hostile request lines over TCP, past any client-side
// normalisation, to a real server running the handler behind WithSite.
func TestRawRequestLines(t *testing.T) {
	f := newFixture()
	site := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>site")}}
	srv := httptest.NewServer(WithSite(New(FSStore{FS: f.fs}, Options{}), Site(site)))
	defer srv.Close()
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/v1/packs/../../../etc/passwd", 400},
		{"/v1/packs/..%2F..%2Fetc/passwd", 400},
		{"/v1/packs/default/..\\..\\manifest.json", 400},
		{"/v1/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/v1/packs/default/manifest.json", 200},
		{"/../../etc/passwd", 404}, // the site's file server cleans the path inside its root
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tc.target)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%q)", tc.target, res.StatusCode, tc.status, body)
		}
		if bytes.Contains(body, []byte("root:")) {
			t.Errorf("%s: served a system file", tc.target)
		}
	}
}

func TestSite(t *testing.T) {
	site := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html>hi")},
		"sw.js":           {Data: []byte("self.addEventListener('fetch', () => {})")},
		"toonid.wasm":     {Data: []byte("\x00asm\x01\x00\x00\x00")},
		"lib/api.mjs":     {Data: []byte("export {}")},
		"manifest.json":   {Data: []byte("{}")},
		"app.webmanifest": {Data: []byte("{}")},
	}
	h := WithSite(New(FSStore{FS: newFixture().fs}, Options{}), Site(site))
	for _, tc := range []struct {
		target, ctype string
		status        int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/sw.js", "text/javascript; charset=utf-8", 200},
		{"/toonid.wasm", "application/wasm", 200},
		{"/lib/api.mjs", "text/javascript; charset=utf-8", 200},
		{"/app.webmanifest", "application/manifest+json", 200},
		{"/v1/packs/default/manifest.json", "application/json", 200},
		{"/missing.js", "", 404},
	} {
		w := do(h, "GET", tc.target, nil)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.target, w.Code, tc.status)
			continue
		}
		if tc.ctype != "" && w.Header().Get("Content-Type") != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.target, w.Header().Get("Content-Type"), tc.ctype)
		}
	}
	if w := do(h, "POST", "/index.html", nil); w.Code != 405 {
		t.Errorf("POST site: %d, want 405", w.Code)
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/v1/models/" + strings.Repeat("a", 64) + ".tmdl", "/v1/packs/default/manifest.json",
		"/v1/packs/index.json", "/v1/packs/../x", "/v1/packs/a%2Fb/c", "/v1//x", "/v1/packs/d/" + strings.Repeat("0", 64) + ".bin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, err := parseRoute(p)
		if err != nil {
			return
		}
		if !fs.ValidPath(rt.key) || strings.Contains(rt.key, "..") || strings.ContainsAny(rt.key, "\\%\x00") {
			t.Fatalf("parseRoute(%q) accepted key %q", p, rt.key)
		}
		if rt.addressed && (len(rt.sha256) != 64 || !strings.Contains(rt.key, rt.sha256)) {
			t.Fatalf("parseRoute(%q): addressed key %q without its hash %q", p, rt.key, rt.sha256)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=10-", "bytes=5-4", "bytes=0-1,2-3", "bytes=x"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		rg, err := parseRange(s, size)
		if err != nil {
			return
		}
		if rg.start < 0 || rg.length <= 0 || rg.start+rg.length > size {
			t.Fatalf("parseRange(%q, %d) = %+v out of bounds", s, size, rg)
		}
	})
}

func TestPublishPlan(t *testing.T) {
	f := newFixture()
	f.fs["README.md"] = &fstest.MapFile{Data: []byte("not served")}
	f.fs["packs/default/thumb.png"] = &fstest.MapFile{Data: []byte("png")}
	f.fs["packs/index.json"] = &fstest.MapFile{Data: []byte("stale")}
	// Precompressed copies (serve/internal/precompress -store) stay local: the Worker sends identity.
	for _, k := range []string{"models/" + f.modelSum + ".tmdl", "packs/default/" + f.shardSum + ".bin"} {
		f.fs[k+".br"] = &fstest.MapFile{Data: []byte("brotli")}
		f.fs[k+".gz"] = &fstest.MapFile{Data: []byte("gzip")}
	}
	plan, skipped, err := PublishPlan(f.fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	firstManifest := -1
	for i, u := range plan {
		keys = append(keys, u.Key)
		if strings.HasSuffix(u.Key, "/manifest.json") && firstManifest < 0 {
			firstManifest = i
		}
		if firstManifest >= 0 && !strings.HasSuffix(u.Key, "/manifest.json") && u.Key != "packs/index.json" {
			t.Errorf("%s uploaded after a manifest", u.Key)
		}
	}
	last := plan[len(plan)-1]
	if last.Key != "packs/index.json" || string(last.Data) != `{"packs":["default","other"]}`+"\n" {
		t.Errorf("last upload = %s %q, want the generated index", last.Key, last.Data)
	}
	want := map[string]string{
		"models/" + f.modelSum + ".tmdl":       "public, max-age=31536000, immutable",
		"packs/default/" + f.shardSum + ".bin": "public, max-age=31536000, immutable",
		"packs/default/manifest.json":          "no-cache",
		"packs/default/thumb.png":              "no-cache",
	}
	for _, u := range plan {
		if cc, ok := want[u.Key]; ok && u.CacheControl != cc {
			t.Errorf("%s: Cache-Control %q, want %q", u.Key, u.CacheControl, cc)
		}
		delete(want, u.Key)
	}
	if len(want) != 0 {
		t.Errorf("missing from plan: %v (plan %v)", want, keys)
	}
	sort.Strings(skipped)
	wantSkipped := []string{"README.md", "models/" + f.modelSum + ".tmdl.br", "models/" + f.modelSum + ".tmdl.gz",
		"packs/default/" + f.shardSum + ".bin.br", "packs/default/" + f.shardSum + ".bin.gz"}
	sort.Strings(wantSkipped)
	if strings.Join(skipped, ",") != strings.Join(wantSkipped, ",") {
		t.Errorf("skipped = %v, want %v", skipped, wantSkipped)
	}
	for _, u := range plan {
		if EncodedCopy(u.Key) {
			t.Errorf("%s: a precompressed copy is in the plan", u.Key)
		}
	}
	for key, want := range map[string]bool{
		"models/" + f.modelSum + ".tmdl.br": true, "packs/default/" + f.shardSum + ".bin.gz": true,
		"packs/default/manifest.json.gz": false, "packs/default/thumb.png.br": false, "models/x.tmdl.br": false,
		"models/" + f.modelSum + ".tmdl": false, "models/" + f.modelSum + ".tmdl.zst": false,
	} {
		if got := EncodedCopy(key); got != want {
			t.Errorf("EncodedCopy(%q) = %v, want %v", key, got, want)
		}
	}

	// A shard whose bytes do not match its name is refused.
	f.fs["packs/default/"+f.shardSum+".bin"] = &fstest.MapFile{Data: []byte("tampered")}
	if _, _, err := PublishPlan(f.fs, nil); err == nil || !strings.Contains(err.Error(), "not the name's") {
		t.Errorf("tampered shard: err = %v", err)
	}
	if _, _, err := PublishPlan(fstest.MapFS{"x.txt": {}}, nil); err == nil {
		t.Error("empty store accepted")
	}
}

// FuzzHandler throws arbitrary paths and headers at the handler: it must answer with one
// of the documented statuses, and a 200 or 206 body must be bytes of the file the path names.
func FuzzHandler(f *testing.F) {
	fx := newFixture()
	h := New(FSStore{FS: fx.fs}, testOpts)
	f.Add("GET", "/v1/packs/default/manifest.json", "", "", "")
	f.Add("GET", "/v1/packs/default/"+fx.shardSum+".bin", "bytes=5-", "", "http://127.0.0.1:8080")
	f.Add("HEAD", "/v1/models/"+fx.modelSum+".tmdl", "bytes=-3", `"`+fx.modelSum+`"`, "")
	f.Add("OPTIONS", "/v1/packs/index.json", "", "", "chrome-extension://abcdefghijklmnop")
	f.Add("GET", "/v1/packs/../models/x", "bytes=0-0,1-1", "*", "")
	f.Add("GET", "/v1/packs/default/"+fx.shardSum+".bin", "bytes=0-1, 2-3", `"x", "`+fx.shardSum+`"`, "http://127.0.0.1:8080")
	f.Add("GET", `/v1/packs\default\manifest.json`, "", "", "")
	f.Fuzz(func(t *testing.T, method, p, rng, inm, origin string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: p}, Header: http.Header{}}
		r = r.WithContext(context.Background())
		for k, v := range map[string]string{"Range": rng, "If-None-Match": inm, "Origin": origin} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		// The Worker gets the same headers split on ","; it must answer the same.
		rw := r.Clone(r.Context())
		rw.Header = workerSplit(r.Header)
		ww := httptest.NewRecorder()
		h.ServeHTTP(ww, rw)
		if ww.Code != w.Code || !bytes.Equal(ww.Body.Bytes(), w.Body.Bytes()) ||
			ww.Header().Get("Content-Range") != w.Header().Get("Content-Range") {
			t.Fatalf("%s %q %q %q %q: local %d, split as in the Worker %d", method, p, rng, inm, origin, w.Code, ww.Code)
		}
		switch w.Code {
		case 200, 204, 206, 304, 400, 403, 404, 405, 416:
		default:
			t.Fatalf("%s %q: status %d", method, p, w.Code)
		}
		if (w.Code == 200 || w.Code == 206) && method == "GET" {
			rt, err := parseRoute(requestPath(r))
			if err != nil {
				t.Fatalf("%q served %d but does not route: %v", p, w.Code, err)
			}
			src := fx.fs[rt.key]
			if src == nil {
				return // the generated index
			}
			if !bytes.Contains(src.Data, w.Body.Bytes()) {
				t.Fatalf("%q: body is not part of %s", p, rt.key)
			}
		}
	})
}
