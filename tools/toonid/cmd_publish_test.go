package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/model"
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

// A model named by its own checksum (as the pack room names it) is published; the same
// file with a flipped byte is refused.
func TestPublishModelChecksum(t *testing.T) {
	g := &model.Graph{InputC: 3, InputH: 8, InputW: 8, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	g.Ops = append(g.Ops, model.Op{Kind: model.OpGlobalAvgPool, In: [2]int{0, -1}})
	g.Ops = append(g.Ops, model.Op{Kind: model.OpFlatten, In: [2]int{1, -1}})
	g.Ops = append(g.Ops, model.Op{Kind: model.OpDense, In: [2]int{2, -1}, Weight: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1},
		WeightShape: []int{4, 3}, Bias: make([]float32, 4)})
	b, err := model.Encode(g, model.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "models", m.Info().SHA256+".tmdl")
	writeFile(t, key, b)
	var out, errb bytes.Buffer
	if err := runPublish([]string{"-store", dir, "-local", "-n"}, &out, &errb); err != nil {
		t.Fatalf("model named by its checksum refused: %v", err)
	}
	if !strings.Contains(out.String(), "models/"+m.Info().SHA256+".tmdl") {
		t.Errorf("model not in the plan:\n%s", out.String())
	}
	b[len(b)-1] ^= 1
	writeFile(t, key, b)
	if err := runPublish([]string{"-store", dir, "-local", "-n"}, &out, &errb); err == nil {
		t.Fatal("corrupted model published")
	}
}
