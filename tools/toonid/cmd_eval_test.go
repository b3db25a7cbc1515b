package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestEvalJSON(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	embOut := filepath.Join(t.TempDir(), "embs.tsv")
	code, out, errs := cli("eval", "-manifest", filepath.Join(dir, "eval.tsv"), "-model", mdl, "-json", "-embeddings", embOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("stdout is not exactly one JSON line:\n%s", out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"dir_at_far_1pct", "icf_rank1", "model_sha256", "n_distractor", "n_gallery", "n_identities", "n_probe", "pack_top1", "pack_top5", "seconds", "tar_at_far_1e-3"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if got["n_identities"] != 4.0 || got["n_gallery"] != 8.0 || got["n_probe"] != 4.0 || got["n_distractor"] != 2.0 {
		t.Errorf("counts %v", got)
	}
	for _, k := range []string{"icf_rank1", "pack_top1", "pack_top5", "dir_at_far_1pct", "tar_at_far_1e-3"} {
		if v := got[k].(float64); v < 0 || v > 1 {
			t.Errorf("%s = %v outside [0,1]", k, v)
		}
	}
	if got["pack_top1"].(float64) > got["pack_top5"].(float64) || got["dir_at_far_1pct"].(float64) > got["pack_top1"].(float64) {
		t.Errorf("top1 <= top5 and dir <= top1 must hold: %v", got)
	}
	if len(got["model_sha256"].(string)) != 64 || got["seconds"].(float64) <= 0 {
		t.Errorf("model_sha256 %v seconds %v", got["model_sha256"], got["seconds"])
	}
	b, err := os.ReadFile(embOut)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 14 || !strings.Contains(lines[0], "red0.png\t") {
		t.Errorf("embeddings file: %d lines, first %q", len(lines), lines[0])
	}
}

func TestEvalFailsOnUnreadable(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	os.WriteFile(filepath.Join(dir, "img", "green1.png"), []byte("broken"), 0o644)
	code, out, errs := cli("eval", "-manifest", filepath.Join(dir, "eval.tsv"), "-model", mdl, "-json")
	if code == 0 || out != "" || !strings.Contains(errs, "green1.png") {
		t.Fatalf("exit %d stdout %q stderr %q: want failure naming green1.png and no JSON", code, out, errs)
	}
}
