package collect

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

// TestProposeReviewFolderThroughSymlinks: the review folder inside the input is refused however
// either path is spelled; before, a symlink on either side got past the check.
func TestProposeReviewFolderThroughSymlinks(t *testing.T) {
	dir := twoCharacters(t)
	m := testModel(t)
	links := t.TempDir()
	outLink := filepath.Join(links, "review-link")
	if err := os.Mkdir(filepath.Join(dir, "review"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "review"), outLink); err != nil {
		t.Fatal(err)
	}
	inLink := filepath.Join(links, "input-link")
	if err := os.Symlink(dir, inLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in, out string }{
		{"out is a link into the input", dir, outLink},
		{"out is a new folder under a link into the input", dir, filepath.Join(outLink, "new")},
		{"in is a link", inLink, filepath.Join(dir, "review2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Propose(context.Background(), tc.in, tc.out, Options{Model: m})
			if err == nil || !strings.Contains(err.Error(), "inside the input folder") {
				t.Fatalf("err = %v, want the review folder refused", err)
			}
		})
	}
}

// TestProposeNaNThresholdLeavesNoFolder: a matcher threshold of NaN is refused before anything
// is written, and the review folder stays usable: the next run succeeds. Before, thumbs/ was
// written, proposals.json failed on NaN, and every rerun refused the folder.
func TestProposeNaNThresholdLeavesNoFolder(t *testing.T) {
	dir := twoCharacters(t)
	m := testModel(t)
	v := make([]float32, m.Info().EmbedDim)
	v[0] = 1
	pk, err := pack.BuildItems([]pack.Item{{Label: pack.Label{ID: "x", Name: "X"}, Embedding: v}},
		pack.BuildOptions{Name: "p", ModelSHA256: m.Info().SHA256})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := pack.NewMatcher(pk)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "review")
	for _, th := range []float32{float32(math.NaN()), float32(math.Inf(1)), 2} {
		if _, err := Propose(context.Background(), dir, out, Options{Model: m, Matcher: mt.WithThreshold(th)}); err == nil {
			t.Fatalf("threshold %v accepted", th)
		}
		if _, err := os.Stat(filepath.Join(out, ThumbDir)); err == nil {
			t.Fatalf("threshold %v: a thumbs folder was left behind", th)
		}
	}
	if _, err := Propose(context.Background(), dir, out, Options{Model: m, Matcher: mt}); err != nil {
		t.Fatalf("the rerun was refused: %v", err)
	}
}
