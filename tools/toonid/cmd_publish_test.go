package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// validStore builds a store a client can use: a pack built by pack build from the test
// images and the model it was built with, under models/<sha256>.tmdl. It returns the store
// folder and the pack's manifest.
func validStore(t *testing.T) (string, *pack.Manifest) {
	t.Helper()
	mdl := tinyModel(t, 1)
	set := testSet(t)
	store := filepath.Join(t.TempDir(), "store")
	out := filepath.Join(store, "packs", "default")
	if code, _, errs := cli("pack", "build", "-gallery", filepath.Join(set, "gallery.tsv"), "-o", out,
		"-name", "default", "-model", mdl); code != 0 {
		t.Fatalf("pack build: exit %d: %s", code, errs)
	}
	m, err := pack.ReadManifest(os.DirFS(out))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(mdl)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(store, "models", m.ModelSHA256+".tmdl"), b)
	return store, m
}

// fakeWrangler writes a wrangler stand-in that logs each call's arguments and the sha256 of
// the file it was given, then runs extra (shell).
func fakeWrangler(t *testing.T, dir, extra string) (script, log string) {
	t.Helper()
	log = filepath.Join(dir, "calls.log")
	script = filepath.Join(dir, "wrangler")
	body := "#!/bin/sh\nfor a; do case \"$a\" in --file=*) f=\"${a#--file=}\";; esac; done\n" +
		"echo \"$4 $(sha256sum \"$f\" | cut -c1-64) $*\" >> " + log + "\n" + extra + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func readCalls(t *testing.T, log string) [][]string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		calls = append(calls, strings.Fields(line))
	}
	return calls
}

// TestPublishOrder runs publish with a fake wrangler that records its arguments, and
// checks that every object is put, shards before their manifest and the index last.
func TestPublishOrder(t *testing.T) {
	store, m := validStore(t)
	dir := t.TempDir()
	fake, log := fakeWrangler(t, dir, "")
	var out, errb bytes.Buffer
	err := runPublish([]string{"-store", store, "-local", "-persist-to", filepath.Join(dir, "state"),
		"-wrangler", fake, "-bucket", "b"}, &out, &errb)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, errb.String())
	}
	calls := readCalls(t, log)
	wantKeys := []string{"b/models/" + m.ModelSHA256 + ".tmdl"}
	var files []string // shards and thumbnails (pack build makes one per label), in walk order
	for _, s := range m.Shards {
		files = append(files, "b/packs/default/"+s.File)
	}
	for _, l := range m.Labels {
		if l.Thumbnail != "" {
			files = append(files, "b/packs/default/"+l.Thumbnail)
		}
	}
	if len(files) != len(m.Shards)+len(m.Labels) {
		t.Fatalf("store has %d files for %d shards and %d labels: a label without a thumbnail", len(files), len(m.Shards), len(m.Labels))
	}
	sort.Strings(files)
	wantKeys = append(append(wantKeys, files...), "b/packs/default/manifest.json", "b/packs/index.json")
	if len(calls) != len(wantKeys) {
		t.Fatalf("%d calls, want %d: %v", len(calls), len(wantKeys), calls)
	}
	for i, f := range calls {
		c := strings.Join(f, " ")
		if len(f) < 6 || f[2] != "r2" || f[3] != "object" || f[4] != "put" || f[5] != wantKeys[i] {
			t.Errorf("call %d = %q, want put %s", i, c, wantKeys[i])
		}
		if !strings.Contains(c, "--local") || !strings.Contains(c, "--persist-to=") {
			t.Errorf("call %d not local: %q", i, c)
		}
	}
	if !strings.Contains(strings.Join(calls[1], " "), "immutable") {
		t.Errorf("shard put without immutable cache control: %q", calls[1])
	}
}

// TestPublishVerifiesPacks: a store a client could not use is refused before anything is
// uploaded. Before publish opened each pack as a reader would, each of these went up with rc 0.
func TestPublishVerifiesPacks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, store string, m *pack.Manifest)
		want  string
	}{
		{"manifest names a missing shard", func(t *testing.T, store string, m *pack.Manifest) {
			os.Remove(filepath.Join(store, "packs", "default", m.Shards[0].File))
		}, m0File},
		{"invalid JSON", func(t *testing.T, store string, m *pack.Manifest) {
			writeFile(t, filepath.Join(store, "packs", "default", "manifest.json"), []byte(`{"format":"toonid-pack",`))
		}, "manifest"},
		{"not a pack manifest", func(t *testing.T, store string, m *pack.Manifest) {
			writeFile(t, filepath.Join(store, "packs", "default", "manifest.json"), []byte(`{}`))
		}, "format"},
		{"absent model", func(t *testing.T, store string, m *pack.Manifest) {
			os.Remove(filepath.Join(store, "models", m.ModelSHA256+".tmdl"))
		}, "model"},
		{"missing thumbnail", func(t *testing.T, store string, m *pack.Manifest) {
			m.Labels[0].Thumbnail = strings.Repeat("ab", 32) + ".jpg"
			b, err := pack.MarshalManifest(m)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(store, "packs", "default", "manifest.json"), b)
		}, "thumbnail " + strings.Repeat("ab", 32) + ".jpg is not in the store"},
		{"thumbnail is not a JPEG", func(t *testing.T, store string, m *pack.Manifest) {
			body := []byte("GIF89a, not a JPEG")
			m.Labels[0].Thumbnail = pack.ThumbnailName(body)
			writeFile(t, filepath.Join(store, "packs", "default", m.Labels[0].Thumbnail), body)
			b, err := pack.MarshalManifest(m)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(store, "packs", "default", "manifest.json"), b)
		}, "not a JPEG"},
		{"thumbnail bytes are not its name's", func(t *testing.T, store string, m *pack.Manifest) {
			m.Labels[0].Thumbnail = strings.Repeat("cd", 32) + ".jpg"
			writeFile(t, filepath.Join(store, "packs", "default", m.Labels[0].Thumbnail), []byte("\xff\xd8\xff other bytes"))
			b, err := pack.MarshalManifest(m)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(store, "packs", "default", "manifest.json"), b)
		}, "not the name's"},
		{"shard is a FIFO", func(t *testing.T, store string, m *pack.Manifest) {
			p := filepath.Join(store, "packs", "default", m.Shards[0].File)
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, m0File},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, m := validStore(t)
			tc.spoil(t, store, m)
			fake, log := fakeWrangler(t, t.TempDir(), "")
			var out, errb bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- runPublish([]string{"-store", store, "-local", "-wrangler", fake}, &out, &errb) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("publish hung")
			}
			want := tc.want
			if want == m0File {
				want = m.Shards[0].File
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want one naming %q", err, want)
			}
			if _, serr := os.Stat(log); serr == nil {
				t.Errorf("wrangler ran for a store that was refused: %v", readCalls(t, log))
			}
		})
	}
}

// m0File stands for "the first shard's file name" in the table above.
const m0File = "\x00first shard"

// TestPublishUploadsWhatWasHashed: the store's first shard is rewritten while publish runs
// (by the fake wrangler, at its first put). What goes up under each content-addressed name
// must still hash to that name: publish uploads the bytes it read and checked, not the file
// as it is at put time.
func TestPublishUploadsWhatWasHashed(t *testing.T) {
	store, m := validStore(t)
	dir := t.TempDir()
	shard := filepath.Join(store, "packs", "default", m.Shards[0].File)
	marker := filepath.Join(dir, "rewritten")
	fake, log := fakeWrangler(t, dir, "[ -f "+marker+" ] || { touch "+marker+"; printf rewritten > "+shard+"; }")
	var out, errb bytes.Buffer
	if err := runPublish([]string{"-store", store, "-local", "-wrangler", fake}, &out, &errb); err != nil {
		t.Fatalf("publish: %v\n%s", err, errb.String())
	}
	if b, _ := os.ReadFile(shard); string(b) != "rewritten" {
		t.Fatal("the fake wrangler did not rewrite the shard")
	}
	for _, c := range readCalls(t, log) {
		key, sum := c[0], c[1]
		base := filepath.Base(key)
		if name, _, ok := strings.Cut(base, "."); ok && len(name) == 64 && !strings.HasPrefix(key, "b/models/") &&
			strings.Contains(key, "/packs/") && name != sum {
			t.Errorf("%s uploaded with bytes hashing to %s", key, sum)
		}
	}
}

// TestPublishInterruptStopsWrangler: cancelling publish (Ctrl-C) stops the wrangler child and
// what it started, instead of leaving them running.
func TestPublishInterruptStopsWrangler(t *testing.T) {
	store, _ := validStore(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	fake, _ := fakeWrangler(t, dir, "sleep 300 & echo $! > "+pidFile+"; wait")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := parsePublish([]string{"-store", store, "-local", "-wrangler", fake}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- publishMain(ctx, a, io.Discard, io.Discard) }()
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if pid == 0 {
		t.Fatal("the fake wrangler never started its child")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("err = %v, want a stopped put", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("publish did not return after cancel")
	}
	for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("wrangler's child %d still running after publish was interrupted", pid)
		}
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// A model named by its own checksum (as the pack room names it) is published; the same
// file with a flipped byte, or named by the sha256 of the whole file, is refused.
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
	whole := sha256.Sum256(b)
	if err := os.Rename(key, filepath.Join(dir, "models", hex.EncodeToString(whole[:])+".tmdl")); err != nil {
		t.Fatal(err)
	}
	if err := runPublish([]string{"-store", dir, "-local", "-n"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "model checksum is "+m.Info().SHA256) {
		t.Fatalf("model named by the file's sha256: err %v, want its checksum named", err)
	}
	if err := os.Remove(filepath.Join(dir, "models", hex.EncodeToString(whole[:])+".tmdl")); err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	writeFile(t, key, b)
	if err := runPublish([]string{"-store", dir, "-local", "-n"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("corrupted model: err %v, want a sha256 mismatch", err)
	}
}
