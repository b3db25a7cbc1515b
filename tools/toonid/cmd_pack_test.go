package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

func TestPackBuildInspect(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	out := filepath.Join(t.TempDir(), "colours")
	code, _, errs := cli("pack", "build", "-gallery", filepath.Join(dir, "gallery.tsv"), "-o", out,
		"-calib", filepath.Join(dir, "calib.tsv"), "-far", "0.5", "-model", mdl)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "embedding gallery 8/8") || !strings.Contains(errs, "4 characters") {
		t.Errorf("build progress/summary missing: %q", errs)
	}
	p, err := pack.Open(os.DirFS(out), pack.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "colours" || len(p.Labels) != 4 || !p.ThresholdCalibrated || p.ThresholdFAR != 0.5 {
		t.Fatalf("pack %q labels %d calibrated %v far %v", p.Name, len(p.Labels), p.ThresholdCalibrated, p.ThresholdFAR)
	}
	if l := p.Labels[0]; l.ID != "red" || l.Name != "Red" || l.Series != "Colours" || l.Credit != "made in the test" {
		t.Errorf("label 0 = %+v", l)
	}
	code, info, errs := cli("pack", "inspect", out)
	if code != 0 || !strings.Contains(info, "all shards verified") || !strings.Contains(info, "yellow\tYellow\tColours") {
		t.Fatalf("inspect: exit %d %s\n%s", code, errs, info)
	}
	// A corrupted shard is caught by inspect.
	ents, _ := filepath.Glob(filepath.Join(out, "*.tps"))
	b, _ := os.ReadFile(ents[0])
	b[len(b)-1] ^= 0x55
	os.WriteFile(ents[0], b, 0o644)
	if code, _, errs := cli("pack", "inspect", out); code == 0 || !strings.Contains(errs, "sha256") {
		t.Errorf("inspect of a corrupt pack: exit %d, %q", code, errs)
	}
}

func TestPackBuildIVFAndSeries(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	// Two series so the split shows.
	g := filepath.Join(dir, "gallery.tsv")
	b, _ := os.ReadFile(g)
	os.WriteFile(g, []byte(strings.Replace(string(b), "blue0.png\tblue\tBlue\tColours", "blue0.png\tblue\tBlue\tCool", 1)), 0o644)
	out := filepath.Join(t.TempDir(), "p")
	if code, _, errs := cli("pack", "build", "-gallery", g, "-o", out, "-model", mdl, "-ivf", "2", "-nprobe", "1", "-split-series"); code != 0 {
		t.Fatalf("build: %s", errs)
	}
	code, info, errs := cli("pack", "inspect", out)
	if code != 0 || !strings.Contains(info, "ivf:          2 lists, nprobe 1") || !strings.Contains(info, "series=Cool") {
		t.Fatalf("inspect: exit %d %s\n%s", code, errs, info)
	}
	p, err := pack.Open(os.DirFS(out), pack.OpenOptions{Series: []string{"Cool"}})
	if err != nil || p.Rows() != 1 {
		t.Fatalf("series Cool: rows %v err %v, want the one blue sub-centre", p.Rows(), err)
	}
}

func TestPackBuildRejects(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	// Calibration identities must be outside the gallery.
	os.WriteFile(filepath.Join(dir, "calib.tsv"), []byte("path\tidentity\nimg/red2.png\tred\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pack", "build", "-gallery", filepath.Join(dir, "gallery.tsv"), "-o", t.TempDir(), "-calib", filepath.Join(dir, "calib.tsv"), "-model", mdl}, "in the gallery"},
		{[]string{"pack", "build", "-o", t.TempDir()}, "required"},
		{[]string{"pack", "build", "-gallery", filepath.Join(dir, "eval.tsv"), "-o", t.TempDir(), "-model", mdl, "-far", "x"}, "invalid value"},
		{[]string{"pack", "frobnicate"}, "unknown subcommand"},
		{[]string{"pack", "inspect", t.TempDir()}, "manifest.json"},
	} {
		code, _, errs := cli(tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want failure mentioning %q", tc.args, code, errs, tc.want)
		}
	}
}
