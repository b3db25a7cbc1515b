package eval

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

var updateCrossCheck = flag.Bool("update-crosscheck", false, "rewrite testdata/crosscheck/*/want.json from Evaluate")

// crossCheckKeys are the metrics toonid eval and model/train/metrics.py define alike; the pack
// metrics are not among them (metrics.py has a float-centroid stand-in, centroid_*).
var crossCheckKeys = []string{"icf_rank1", "tar_at_far_1e-3", "n_identities", "n_gallery", "n_probe", "n_distractor"}

// TestCrossCheck: Evaluate on each testdata/crosscheck case (a manifest and its embeddings, in
// `toonid eval -embeddings` form) gives want.json's values, which MetricsCrossCheckTest in
// model/train/test_train.py requires of metrics.score too, so the two definitions stay one.
func TestCrossCheck(t *testing.T) {
	dirs, err := filepath.Glob("testdata/crosscheck/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cross-check cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rows, err := ReadManifest(filepath.Join(dir, "manifest.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			byPath := readEmbeddingsTSV(t, filepath.Join(dir, "embeddings.tsv"))
			embs := make([][]float32, len(rows))
			for i, r := range rows {
				rel, err := filepath.Rel(dir, r.Path)
				if err != nil || byPath[filepath.ToSlash(rel)] == nil {
					t.Fatalf("%s: no embedding (%v)", r.Path, err)
				}
				embs[i] = byPath[filepath.ToSlash(rel)]
			}
			rep, err := Evaluate(rows, embs, pack.BuildOptions{Name: "crosscheck", ModelSHA256: strings.Repeat("0", 64)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{
				"icf_rank1": rep.ICFRank1, "tar_at_far_1e-3": rep.TARAtFAR1e3, "n_identities": float64(rep.NIdentities),
				"n_gallery": float64(rep.NGallery), "n_probe": float64(rep.NProbe), "n_distractor": float64(rep.NDistractor),
			}
			wantFile := filepath.Join(dir, "want.json")
			if *updateCrossCheck {
				out, _ := json.MarshalIndent(got, "", " ")
				if err := os.WriteFile(wantFile, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wb, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]float64
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			for _, k := range crossCheckKeys {
				if w, ok := want[k]; !ok || got[k] != w {
					t.Errorf("%s = %v, want.json says %v (present %v)", k, got[k], w, ok)
				}
			}
		})
	}
}

// readEmbeddingsTSV reads "path<TAB>v1,v2,..." lines (what `toonid eval -embeddings` writes).
func readEmbeddingsTSV(t *testing.T, name string) map[string][]float32 {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, vs, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		var v []float32
		for _, s := range strings.Split(vs, ",") {
			x, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			v = append(v, float32(x))
		}
		out[p] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
