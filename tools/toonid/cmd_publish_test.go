package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublishOrder runs publish with a fake wrangler that records its arguments, and
// checks that every object is put, shards before their manifest and the index last.
func TestPublishOrder(t *testing.T) {
	dir := t.TempDir()
	shard := []byte("shard bytes")
	s := sha256.Sum256(shard)
	shardName := hex.EncodeToString(s[:]) + ".tps"
	writeFile(t, filepath.Join(dir, "store", "packs", "default", shardName), shard)
	writeFile(t, filepath.Join(dir, "store", "packs", "default", "manifest.json"), []byte(`{}`))
	log := filepath.Join(dir, "calls.log")
	fake := filepath.Join(dir, "wrangler")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := runPublish([]string{"-store", filepath.Join(dir, "store"), "-local", "-persist-to", filepath.Join(dir, "state"),
		"-wrangler", fake, "-bucket", "b"}, &out, &errb)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	wantKeys := []string{"b/packs/default/" + shardName, "b/packs/default/manifest.json", "b/packs/index.json"}
	if len(calls) != len(wantKeys) {
		t.Fatalf("calls:\n%s", b)
	}
	for i, c := range calls {
		f := strings.Fields(c)
		if len(f) < 4 || f[0] != "r2" || f[1] != "object" || f[2] != "put" || f[3] != wantKeys[i] {
			t.Errorf("call %d = %q, want put %s", i, c, wantKeys[i])
		}
		if !strings.Contains(c, "--local") || !strings.Contains(c, "--persist-to=") {
			t.Errorf("call %d not local: %q", i, c)
		}
	}
	if !strings.Contains(calls[0], "--cache-control=public, max-age=31536000, immutable") &&
		!strings.Contains(calls[0], "immutable") {
		t.Errorf("shard put without immutable cache control: %q", calls[0])
	}

	// A tampered shard stops publishing before anything is put.
	os.Remove(log)
	writeFile(t, filepath.Join(dir, "store", "packs", "default", shardName), []byte("tampered"))
	if err := runPublish([]string{"-store", filepath.Join(dir, "store"), "-local", "-wrangler", fake}, &out, &errb); err == nil {
		t.Fatal("tampered store published")
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("wrangler ran for a tampered store")
	}
}
