package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what the server goroutine prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	model := []byte("a tiny stand-in model file")
	sum := sha256.Sum256(model)
	modelName := hex.EncodeToString(sum[:]) + ".tmdl"
	writeFile(t, filepath.Join(dir, "store", "models", modelName), model)
	writeFile(t, filepath.Join(dir, "store", "packs", "default", "manifest.json"), []byte(`{"version":1}`))
	writeFile(t, filepath.Join(dir, "site", "index.html"), []byte("<!doctype html><title>toonid</title>"))
	writeFile(t, filepath.Join(dir, "site", "toonid.wasm"), []byte("\x00asm\x01\x00\x00\x00"))
	writeFile(t, filepath.Join(dir, "site", "sw.js"), []byte("// service worker"))

	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serveMain(ctx, serveConfig{addr: "127.0.0.1:0", store: filepath.Join(dir, "store"),
			site: filepath.Join(dir, "site")}, &out, &errb)
	}()
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if i := strings.Index(out.String(), "http://"); i >= 0 {
			base = strings.Fields(out.String()[i:])[0]
			base = strings.TrimSuffix(base, "/")
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no URL printed; stdout %q stderr %q", out.String(), errb.String())
	}
	for _, tc := range []struct {
		path, ctype string
		body        []byte
	}{
		{"/v1/models/" + modelName, "application/octet-stream", model},
		{"/v1/packs/default/manifest.json", "application/json", []byte(`{"version":1}`)},
		{"/v1/packs/index.json", "application/json", []byte(`{"packs":["default"]}` + "\n")},
		{"/", "text/html; charset=utf-8", []byte("<!doctype html><title>toonid</title>")},
		{"/toonid.wasm", "application/wasm", []byte("\x00asm\x01\x00\x00\x00")},
		{"/sw.js", "text/javascript; charset=utf-8", []byte("// service worker")},
	} {
		res, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != tc.ctype || !bytes.Equal(body, tc.body) {
			t.Errorf("%s: %d %q %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	// The server's own origin is allowed for CORS.
	req, _ := http.NewRequest("GET", base+"/v1/packs/default/manifest.json", nil)
	req.Header.Set("Origin", base)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != base {
		t.Errorf("own origin not allowed: %q", res.Header.Get("Access-Control-Allow-Origin"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveMain: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestServeCommandErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runServe([]string{"-store", filepath.Join(t.TempDir(), "missing"), "-addr", "127.0.0.1:0"}, &out, &errb); err == nil ||
		!strings.Contains(err.Error(), "make default-pack") {
		t.Errorf("missing store: err = %v", err)
	}
	if err := runServe([]string{"extra"}, &out, &errb); err == nil {
		t.Error("extra argument accepted")
	}
}
