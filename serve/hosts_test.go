package serve

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/toonid/toonid/internal/memtest"
)

// workerSplit rewrites r's headers the way syumai/workers hands them to Go: workerd joins
// repeated field lines with ", ", then every value is split on ",".
func workerSplit(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		for _, v := range strings.Split(strings.Join(vs, ", "), ",") {
			out.Add(k, v)
		}
	}
	return out
}

// TestHeadersReadAlikeInBothHosts sends each request with its headers as net/http keeps them
// and as the Worker receives them; the answers must be the same, and the documented one.
func TestHeadersReadAlikeInBothHosts(t *testing.T) {
	f := newFixture()
	h := New(FSStore{FS: f.fs}, testOpts)
	shardURL := "/v1/packs/default/" + f.shardSum + ".bin"
	manSum := `"` + hexSum(f.manifest) + `"`
	for _, tc := range []struct {
		name, method, target string
		hdr                  http.Header
		status               int
	}{
		{"two ranges", "GET", shardURL, http.Header{"Range": {"bytes=0-1,2-3"}}, 200},
		{"two ranges spaced", "GET", shardURL, http.Header{"Range": {"bytes=0-1, 2-3"}}, 200},
		{"two Range lines", "GET", shardURL, http.Header{"Range": {"bytes=0-1", "bytes=2-3"}}, 200},
		{"one range", "GET", shardURL, http.Header{"Range": {"bytes=0-1"}}, 206},
		{"If-None-Match list, match second", "GET", shardURL, http.Header{"If-None-Match": {`"x", "` + f.shardSum + `"`}}, 304},
		{"If-None-Match list on manifest", "GET", "/v1/packs/default/manifest.json",
			http.Header{"If-None-Match": {`"x",` + manSum}}, 304},
		{"If-None-Match two lines", "GET", shardURL, http.Header{"If-None-Match": {`"x"`, `"` + f.shardSum + `"`}}, 304},
		{"If-None-Match list, no match", "GET", shardURL, http.Header{"If-None-Match": {`"x", "y"`}}, 200},
		{"preflight with an odd header", "OPTIONS", shardURL, http.Header{"Origin": {"http://127.0.0.1:8080"},
			"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range, x-evil"}}, 403},
		{"preflight, odd header second line", "OPTIONS", shardURL, http.Header{"Origin": {"http://127.0.0.1:8080"},
			"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range", "x-evil"}}, 403},
		{"preflight allowed list", "OPTIONS", shardURL, http.Header{"Origin": {"http://127.0.0.1:8080"},
			"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range,if-none-match"}}, 204},
		{"If-Range date with a comma", "GET", shardURL,
			http.Header{"Range": {"bytes=0-1"}, "If-Range": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, 200},
		{"If-Range etag", "GET", shardURL, http.Header{"Range": {"bytes=0-1"}, "If-Range": {`"` + f.shardSum + `"`}}, 206},
		{"two origins are no origin", "GET", shardURL, http.Header{"Origin": {"http://127.0.0.1:8080, https://evil.example"}}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]*httptest.ResponseRecorder
			for i, hdr := range []http.Header{tc.hdr, workerSplit(tc.hdr)} {
				r := httptest.NewRequest(tc.method, tc.target, nil)
				r.Header = hdr.Clone()
				got[i] = httptest.NewRecorder()
				h.ServeHTTP(got[i], r)
			}
			local, worker := got[0], got[1]
			if local.Code != tc.status || worker.Code != tc.status {
				t.Fatalf("status local %d, worker %d; want %d", local.Code, worker.Code, tc.status)
			}
			for _, k := range []string{"Content-Range", "Content-Length", "ETag", "Access-Control-Allow-Origin"} {
				if local.Header().Get(k) != worker.Header().Get(k) {
					t.Errorf("%s: local %q, worker %q", k, local.Header().Get(k), worker.Header().Get(k))
				}
			}
			if !bytes.Equal(local.Body.Bytes(), worker.Body.Bytes()) {
				t.Errorf("bodies differ")
			}
		})
	}
}

// rawGet sends one request line over TCP, past any client-side normalisation.
func rawGet(t *testing.T, addr, target string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", target, strings.Join(hdr, ""))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body
}

// TestBackslashIsASlash: the Worker's URL parser turns "\" into "/" before Go sees it, so the
// local server reads it the same way; what it spells meets the same grammar.
func TestBackslashIsASlash(t *testing.T) {
	f := newFixture()
	srv := httptest.NewServer(WithSite(New(FSStore{FS: f.fs}, Options{}), Site(fstest.MapFS{})))
	defer srv.Close()
	for _, tc := range []struct {
		target string
		status int
	}{
		{`/v1/packs\default\manifest.json`, 200},
		{`/v1\packs\default\manifest.json`, 200},
		{`/v1/packs/default\..\..\models\x`, 400},
		{`/v1/packs\\default/manifest.json`, 400}, // "//"
		{`/v1/packs%5Cdefault/manifest.json`, 400},
	} {
		res, body := rawGet(t, srv.Listener.Addr().String(), tc.target)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.target, res.StatusCode, tc.status, body)
		}
		if tc.status == 200 && !bytes.Equal(body, f.manifest) {
			t.Errorf("%s: body %q", tc.target, body)
		}
	}
}

// writeTree writes a fixture's files under dir.
func writeTree(t testing.TB, dir string, files fstest.MapFS) {
	t.Helper()
	for name, file := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, file.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countingStore counts whole-file reads and the bytes they return.
type countingStore struct {
	Store
	whole atomic.Int64
}

func (s *countingStore) Read(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n < 0 {
		s.whole.Add(1)
	}
	return s.Store.Read(ctx, key, off, n)
}

// TestMutableHashedOncePerVersion: a 4 MiB manifest asked for 64 times (one after another,
// then 64 at once) is read whole and hashed once; the other requests stream it. Before the
// ETag was remembered each request read all 4 MiB (64 x 4 MiB allocated).
func TestMutableHashedOncePerVersion(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte(`{"labels":["a"]}`), (4<<20)/16)
	writeTree(t, dir, fstest.MapFS{"packs/big/manifest.json": {Data: big}})
	ds, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	cs := &countingStore{Store: ds}
	h := New(cs, Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func() {
		res, err := http.Get(srv.URL + "/v1/packs/big/manifest.json")
		if err != nil {
			t.Error(err)
			return
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || n != int64(len(big)) || res.Header.Get("ETag") != strongETag(big) {
			t.Errorf("got %d, %d bytes, ETag %s", res.StatusCode, n, res.Header.Get("ETag"))
		}
	}
	get() // warm: the one whole read
	const n = 64
	alloc := memtest.Allocated(func() {
		for range n {
			get()
		}
	})
	// The client side (io.Copy) allocates a little per request; the failure this catches is
	// n x 4 MiB = 256 MiB.
	if limit := uint64(16 << 20); alloc > limit {
		t.Errorf("%d sequential requests allocated %d MiB, want < %d MiB", n, alloc>>20, limit>>20)
	}
	if got := cs.whole.Load(); got != 1 {
		t.Errorf("%d whole reads for one version, want 1", got)
	}

	// A new version (same size, new bytes, new mtime): read once more, then cached again;
	// 64 concurrent requests for it cause one whole read between them.
	big2 := bytes.Clone(big)
	big2[3] = 'L'
	p := filepath.Join(dir, "packs", "big", "manifest.json")
	if err := os.WriteFile(p+".tmp", big2, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p+".tmp", time.Time{}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	big = big2
	var wg sync.WaitGroup
	for range n {
		wg.Go(get)
	}
	wg.Wait()
	if got := cs.whole.Load(); got != 2 {
		t.Errorf("%d whole reads after one change, want 2", got)
	}
	res, err := http.Get(srv.URL + "/v1/packs/big/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/packs/big/manifest.json", nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 304 {
		t.Errorf("revalidation: %v %v, want 304", res.StatusCode, err)
	}
}

// TestMutableVersionUnknown: a store that reports neither mtime nor ETag gets no caching (the
// ETag is recomputed), but still the right ETag for the bytes sent after a change.
func TestMutableVersionUnknown(t *testing.T) {
	f := newFixture()
	h := New(FSStore{FS: f.fs}, Options{})
	for _, body := range [][]byte{[]byte(`{"v":1}`), []byte(`{"v":2}`)} {
		f.fs["packs/default/manifest.json"] = &fstest.MapFile{Data: body}
		w := do(h, "GET", "/v1/packs/default/manifest.json", nil)
		if w.Code != 200 || w.Body.String() != string(body) || w.Header().Get("ETag") != strongETag(body) {
			t.Errorf("got %d %q ETag %s", w.Code, w.Body.String(), w.Header().Get("ETag"))
		}
	}
}

// TestDirStoreFollowsReplacedFolder: rm -rf of the store and a rebuild under the same path are
// served from the new folder, not from the deleted one the open root still points at.
func TestDirStoreFollowsReplacedFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	writeTree(t, dir, fstest.MapFS{"packs/p/manifest.json": {Data: []byte(`{"old":true}`)}})
	ds, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	h := New(ds, Options{})
	if w := do(h, "GET", "/v1/packs/p/manifest.json", nil); w.Body.String() != `{"old":true}` {
		t.Fatalf("before: %d %q", w.Code, w.Body.String())
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, fstest.MapFS{"packs/p/manifest.json": {Data: []byte(`{"new":true}`)}})
	if w := do(h, "GET", "/v1/packs/p/manifest.json", nil); w.Body.String() != `{"new":true}` {
		t.Fatalf("after the folder was replaced: %d %q", w.Code, w.Body.String())
	}
	if w := do(h, "GET", "/v1/packs/index.json", nil); w.Body.String() != `{"packs":["p"]}`+"\n" {
		t.Fatalf("index after replace: %q", w.Body.String())
	}
}

// TestSiteOnlyRegularFiles: the site answers 404, as the API does, for what is not a regular
// file in it: directory listings, dotfiles, overlong names, symlinks out, FIFOs.
func TestSiteOnlyRegularFiles(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "site")
	writeTree(t, dir, fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html>home")},
		"sub/index.html":  {Data: []byte("<!doctype html>sub")},
		"assets/a.js":     {Data: []byte("export {}")},
		".env":            {Data: []byte("SECRET=1")},
		".git/config":     {Data: []byte("[core]")},
		"assets/.hidden":  {Data: []byte("hidden")},
		"empty/.keep":     {Data: nil},
		"outside-ok.json": {Data: []byte("{}")},
	})
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(parent, "secret.txt"), filepath.Join(dir, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	h := Site(root.FS())
	for _, tc := range []struct {
		target string
		status int
		body   string
	}{
		{"/", 200, "<!doctype html>home"},
		{"/sub/", 200, "<!doctype html>sub"},
		{"/assets/a.js", 200, "export {}"},
		{"/assets/", 404, ""}, // no listing
		{"/assets", 404, ""},
		{"/empty/", 404, ""},
		{"/.env", 404, ""},
		{"/.git/config", 404, ""},
		{"/assets/.hidden", 404, ""},
		{"/leak.txt", 404, ""},
		{"/fifo.js", 404, ""},
		{"/" + strings.Repeat("a", 300), 404, ""},
		{"/" + strings.Repeat("a/", 600), 404, ""},
		{"/sub/../index.html", 200, "<!doctype html>home"},
	} {
		done := make(chan *httptest.ResponseRecorder, 1)
		go func() { done <- do(h, "GET", tc.target, nil) }()
		var w *httptest.ResponseRecorder
		select {
		case w = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no answer (opened a FIFO?)", tc.target[:min(len(tc.target), 40)])
		}
		if w.Code != tc.status {
			t.Errorf("%.40s: status %d, want %d (%q)", tc.target, w.Code, tc.status, trunc(w.Body.Bytes()))
		}
		if tc.body != "" && w.Body.String() != tc.body {
			t.Errorf("%.40s: body %q", tc.target, trunc(w.Body.Bytes()))
		}
		if tc.status == 404 {
			checkJSONError(t, w.Header(), w.Body.Bytes(), "not found", "GET")
		}
		if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "SECRET") {
			t.Errorf("%.40s: leaked %q", tc.target, w.Body.String())
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestSiteCompression: precompressed .br/.gz sent by negotiation (never compressed again),
// stale copies ignored, small text gzipped on the fly, large files without a copy sent as
// they are, images never encoded.
func TestSiteCompression(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	js := []byte(strings.Repeat("export const x = 1;\n", 200))
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{1, 2, 3, 4}, 300<<10)...)
	site := fstest.MapFS{
		"app.js":           {Data: js, ModTime: old},
		"app.js.br":        {Data: []byte("BROTLI"), ModTime: old},
		"app.js.gz":        {Data: gzipBytes(t, js), ModTime: old},
		"big.wasm":         {Data: wasm, ModTime: old},
		"big.wasm.gz":      {Data: gzipBytes(t, wasm), ModTime: old},
		"nocopy.wasm":      {Data: wasm, ModTime: old},
		"style.css":        {Data: []byte(strings.Repeat("a{color:red}\n", 100)), ModTime: old},
		"stale.js":         {Data: js, ModTime: old},
		"stale.js.gz":      {Data: gzipBytes(t, []byte("old build")), ModTime: old.Add(-time.Minute)},
		"pic.png":          {Data: bytes.Repeat([]byte{0}, 4096), ModTime: old},
		"tiny.js":          {Data: []byte("x"), ModTime: old},
		"index.html":       {Data: []byte("<!doctype html>" + strings.Repeat(" ", 1000)), ModTime: old},
		"index.html.gz":    {Data: gzipBytes(t, []byte("<!doctype html>"+strings.Repeat(" ", 1000))), ModTime: old},
		"only-br.json":     {Data: []byte(strings.Repeat(`{"a":1}`, 200)), ModTime: old},
		"only-br.json.br":  {Data: []byte("BR-JSON"), ModTime: old},
		"sub/deep.js":      {Data: js, ModTime: old},
		"sub/deep.js.gz":   {Data: gzipBytes(t, js), ModTime: old},
		"sub/deep.js.br":   {Data: []byte("DEEP-BR"), ModTime: old},
		"sub/nothing.txt":  {Data: []byte("plain"), ModTime: old},
		"sub/nothing2.txt": {Data: []byte("plain"), ModTime: old},
	}
	h := Site(site)
	for _, tc := range []struct {
		target, accept, encoding string
		want                     []byte // decoded body
		raw                      []byte // body as sent, when not decodable here
	}{
		{"/app.js", "gzip, deflate, br", "br", nil, []byte("BROTLI")},
		{"/app.js", "br;q=0, gzip", "gzip", js, nil},
		{"/app.js", "gzip;q=0.5", "gzip", js, nil},
		{"/app.js", "", "", js, nil},
		{"/app.js", "identity", "", js, nil},
		{"/app.js", "*", "br", nil, []byte("BROTLI")},
		{"/app.js", "*, br;q=0", "gzip", js, nil},
		{"/big.wasm", "gzip", "gzip", wasm, nil},
		{"/nocopy.wasm", "gzip, br", "", wasm, nil}, // too big to compress per request
		{"/style.css", "gzip", "gzip", site["style.css"].Data, nil},
		{"/stale.js", "gzip", "gzip", js, nil}, // the stale .gz is ignored; compressed live
		{"/pic.png", "gzip, br", "", site["pic.png"].Data, nil},
		{"/tiny.js", "gzip", "", []byte("x"), nil},
		{"/", "gzip", "gzip", site["index.html"].Data, nil},
		{"/only-br.json", "gzip, br", "br", nil, []byte("BR-JSON")},
		{"/sub/deep.js", "br", "br", nil, []byte("DEEP-BR")},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.accept != "" {
			r.Header.Set("Accept-Encoding", tc.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		name := tc.target + " [" + tc.accept + "]"
		if w.Code != 200 {
			t.Errorf("%s: status %d", name, w.Code)
			continue
		}
		if got := w.Header().Get("Content-Encoding"); got != tc.encoding {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got, tc.encoding)
		}
		body := w.Body.Bytes()
		if tc.raw != nil && !bytes.Equal(body, tc.raw) {
			t.Errorf("%s: body %q, want %q", name, trunc(body), tc.raw)
		}
		if tc.want != nil {
			if tc.encoding == "gzip" {
				body = gunzip(t, body)
			}
			if !bytes.Equal(body, tc.want) {
				t.Errorf("%s: decoded body differs (%d bytes, want %d)", name, len(body), len(tc.want))
			}
		}
		if w.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
			t.Errorf("%s: Content-Length %s for %d bytes", name, w.Header().Get("Content-Length"), w.Body.Len())
		}
		if Compressible(tc.target) && !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: no Vary: Accept-Encoding", name)
		}
		wantType := siteTypes[filepath.Ext(tc.target)]
		if tc.target == "/" {
			wantType = siteTypes[".html"]
		}
		if got := w.Header().Get("Content-Type"); got != wantType {
			t.Errorf("%s: Content-Type %q, want %q", name, got, wantType)
		}
	}
	// The precompressed copy is sent byte for byte: nothing was compressed for this request.
	r := httptest.NewRequest("GET", "/big.wasm", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !bytes.Equal(w.Body.Bytes(), site["big.wasm.gz"].Data) {
		t.Errorf("big.wasm: not the precompressed copy")
	}
}
