package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/collect"
)

// sprites copies SuperTux sprites of two characters into a new folder (shipped-model tests: the
// colour squares of testSet are too alike for a real model).
func sprites(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"owl_left-0", "owl_left-1", "owl_left-2", "owl_left-3", "mr_bomb_bomb1", "mr_bomb_bomb3", "mr_bomb_bomb5", "mr_bomb_bomb7"} {
		b, err := os.ReadFile(filepath.Join("..", "gallery", "img", "supertux", f+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not an image"), 0o644)
	return dir
}

// TestCollectRoundTrip: propose -> labels.tsv as the review page writes it -> apply -> pack build
// -> identify names a collected crop.
func TestCollectRoundTrip(t *testing.T) {
	in := sprites(t)
	review := filepath.Join(t.TempDir(), "review")
	code, out, errs := cli("collect", "propose", "-in", in, "-o", review, "-grid", "1")
	if code != 0 {
		t.Fatalf("propose: exit %d: %s", code, errs)
	}
	if strings.TrimSpace(out) != filepath.Join(review, "review.html") || !strings.Contains(errs, "warning: skipping README.txt: not an image") ||
		!strings.Contains(errs, "8 images (1 files skipped): 8 crops") || !strings.Contains(errs, "in 2 clusters") {
		t.Errorf("propose output %q, stderr %q", out, errs)
	}
	p, err := collect.ReadProposals(os.DirFS(review))
	if err != nil {
		t.Fatal(err)
	}
	// The reviewer names each cluster after its first member's character.
	var labels strings.Builder
	labels.WriteString("# toonid-collect-labels run=" + p.Run + "\n" + collect.LabelsHeader + "\n")
	for _, c := range p.Clusters {
		id := strings.TrimSuffix(strings.Split(filepath.Base(c.Members[0].Path), "_")[0], ".png")
		if strings.HasPrefix(c.Members[0].Path, "mr_bomb") {
			id = "mr-bomb"
		}
		for _, m := range c.Members {
			labels.WriteString(m.ID + "\t" + id + "\t" + strings.ToUpper(id[:1]) + id[1:] + "\tSuperTux\tSuperTux Devel Team, GPL-3+\n")
		}
	}
	lf := filepath.Join(t.TempDir(), "labels.tsv")
	os.WriteFile(lf, []byte(labels.String()), 0o644)
	gal := filepath.Join(t.TempDir(), "gallery")
	code, out, errs = cli("collect", "apply", "-review", review, "-labels", lf, "-o", gal)
	if code != 0 {
		t.Fatalf("apply: exit %d: %s", code, errs)
	}
	if strings.TrimSpace(out) != filepath.Join(gal, collect.GalleryFile) || !strings.Contains(errs, "of 2 characters") {
		t.Errorf("apply output %q, stderr %q", out, errs)
	}
	pk := filepath.Join(t.TempDir(), "collected")
	if code, _, errs := cli("pack", "build", "-gallery", filepath.Join(gal, collect.GalleryFile), "-o", pk); code != 0 || !strings.Contains(errs, "2 characters") {
		t.Fatalf("pack build of the collected gallery: exit %d: %s", code, errs)
	}
	crops, _ := filepath.Glob(filepath.Join(gal, collect.CropDir, "*.png"))
	if len(crops) == 0 {
		t.Fatal("no crops")
	}
	code, out, errs = cli("identify", "-pack", pk, "-json", crops[0])
	var r pack.Result
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Unknown || len(r.Answers) == 0 {
		t.Fatalf("identify a collected crop: exit %d %s %s", code, out, errs)
	}
	id := filepath.Base(crops[0])
	want := ""
	for _, c := range p.Clusters {
		for _, m := range c.Members {
			if m.ID+".png" == id {
				want = map[bool]string{true: "mr-bomb", false: "owl"}[strings.HasPrefix(m.Path, "mr_bomb")]
			}
		}
	}
	if r.Answers[0].ID != want {
		t.Errorf("identify %s: %s, want %s", id, r.Answers[0].ID, want)
	}
	// The pack pre-labels the next collection: every kept crop comes back as a suggestion.
	review2 := filepath.Join(t.TempDir(), "review2")
	// How many crops are near-duplicates depends on the model; every kept one must be suggested.
	code, _, errs = cli("collect", "propose", "-in", in, "-o", review2, "-grid", "1", "-pack", pk)
	m := regexp.MustCompile(`(\d+) crops, (\d+) near-duplicates dropped, (\d+) suggested by the pack, (\d+) in 2 clusters`).FindStringSubmatch(errs)
	if code != 0 || m == nil {
		t.Fatalf("propose with -pack: exit %d: %s", code, errs)
	}
	crops2, _ := strconv.Atoi(m[1])
	dropped, _ := strconv.Atoi(m[2])
	if kept := crops2 - dropped; m[3] != strconv.Itoa(kept) || m[4] != strconv.Itoa(kept) || kept == 0 {
		t.Errorf("propose with -pack: want all %d kept crops suggested, in 2 clusters: %s", kept, errs)
	}
}

func TestCollectRejects(t *testing.T) {
	in := sprites(t)
	review := filepath.Join(t.TempDir(), "review")
	if code, _, errs := cli("collect", "propose", "-in", in, "-o", review, "-grid", "1"); code != 0 {
		t.Fatalf("propose: %s", errs)
	}
	bad := filepath.Join(t.TempDir(), "labels.tsv")
	os.WriteFile(bad, []byte("proposal\tidentity\np000042\towl\n"), 0o644)
	boxes := filepath.Join(t.TempDir(), "boxes.tsv")
	os.WriteFile(boxes, []byte("path\tx\ty\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"collect"}, "missing subcommand"},
		{[]string{"collect", "sort"}, "unknown subcommand"},
		{[]string{"collect", "propose", "-in", in}, "-in and -o are required"},
		{[]string{"collect", "propose", "-in", in, "-o", t.TempDir(), "-grid", "0"}, "grid"},
		{[]string{"collect", "propose", "-in", in, "-o", t.TempDir(), "-boxes", boxes}, `lacks column "w"`},
		{[]string{"collect", "propose", "-in", in, "-o", t.TempDir(), "-pack", t.TempDir()}, "manifest.json"},
		{[]string{"collect", "propose", "-in", in, "-o", filepath.Join(in, "r")}, "inside the input folder"},
		{[]string{"collect", "apply", "-review", review, "-labels", bad}, "required"},
		{[]string{"collect", "apply", "-review", review, "-labels", bad, "-o", t.TempDir()}, "p000042 is not in proposals.json"},
		{[]string{"collect", "apply", "-review", t.TempDir(), "-labels", bad, "-o", t.TempDir()}, "proposals.json"},
	} {
		code, _, errs := cli(tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want failure mentioning %q", tc.args, code, errs, tc.want)
		}
	}
	if code, _, errs := cli("collect", "propose", "-h"); code != 0 || !strings.Contains(errs, "-link") {
		t.Errorf("propose -h: exit %d %q", code, errs)
	}
}
