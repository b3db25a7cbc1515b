package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestEmbed(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	a, b := filepath.Join(dir, "img/red0.png"), filepath.Join(dir, "img/blue0.png")
	code, out, errs := cli("embed", "-model", mdl, a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], a+"\t") || !strings.HasPrefix(lines[1], b+"\t") {
		t.Fatalf("output:\n%s", out)
	}
	for _, l := range lines {
		vals := strings.Split(strings.SplitN(l, "\t", 2)[1], ",")
		if len(vals) != 16 {
			t.Fatalf("%d values, want 16", len(vals))
		}
		var ss float64
		for _, v := range vals {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			ss += x * x
		}
		if math.Abs(ss-1) > 1e-4 {
			t.Errorf("squared norm %v, want 1", ss)
		}
	}
	// -box picks a part of the image: the black square alone differs from the whole red image.
	_, boxed, _ := cli("embed", "-model", mdl, "-box", "8,8,12,12", a)
	if strings.SplitN(boxed, "\t", 2)[1] == strings.SplitN(lines[0], "\t", 2)[1] {
		t.Error("-box did not change the embedding")
	}
}

func TestEmbedBadInput(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("no image here"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"embed", "-model", mdl, bad}, bad},
		{[]string{"embed", "-model", mdl, filepath.Join(dir, "missing.png")}, "missing.png"},
		{[]string{"embed", "-model", bad, bad}, "model"},
		{[]string{"embed", "-model", mdl}, "no images"},
		{[]string{"embed", "-model", mdl, "-box", "1,2,3", bad}, "x,y,w,h"},
	} {
		code, _, errs := cli(tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want failure mentioning %q", tc.args, code, errs, tc.want)
		}
	}
}

// Without -model the shipped model is used: its hash is what eval reports.
func TestDefaultModelIsShipped(t *testing.T) {
	m, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	want, err := loadModel("../../model/shipped/toonid.tmdl")
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().SHA256 != want.Info().SHA256 || len(m.Info().SHA256) != 64 {
		t.Fatalf("default model %s, shipped file %s", m.Info().SHA256, want.Info().SHA256)
	}
	dir := testSet(t)
	code, out, errs := cli("embed", filepath.Join(dir, "img/red0.png"))
	if code != 0 || strings.Count(strings.SplitN(out, "\t", 2)[1], ",") != m.Info().EmbedDim-1 {
		t.Fatalf("embed with the shipped model: exit %d %s %q", code, errs, out)
	}
}
