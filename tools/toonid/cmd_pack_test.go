package main

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/pack/thumb"
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
	if code != 0 || !strings.Contains(info, "all shards and 4 thumbnails verified") || !strings.Contains(info, "yellow\tYellow\tColours") {
		t.Fatalf("inspect: exit %d %s\n%s", code, errs, info)
	}
	// Every character has a thumbnail of its first gallery image (red0.png for red).
	for _, l := range p.Labels {
		b, err := pack.ReadThumbnail(os.DirFS(out), l)
		if err != nil || b == nil {
			t.Fatalf("label %s: thumbnail %q: %v", l.ID, l.Thumbnail, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != thumb.Side || img.Bounds().Dy() != thumb.Side {
			t.Fatalf("label %s: thumbnail %v, %v", l.ID, img.Bounds(), err)
		}
		if l.ID == "red" { // a red face on black: more red than green or blue on average
			var r, g, b uint32
			for y := 0; y < thumb.Side; y++ {
				for x := 0; x < thumb.Side; x++ {
					cr, cg, cb, _ := img.At(x, y).RGBA()
					r, g, b = r+cr>>8, g+cg>>8, b+cb>>8
				}
			}
			if r < 2*g || r < 2*b {
				t.Errorf("red's thumbnail sums to %d,%d,%d", r, g, b)
			}
		}
	}
	// A corrupted thumbnail is caught by inspect.
	tb := filepath.Join(out, p.Labels[1].Thumbnail)
	orig, _ := os.ReadFile(tb)
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0x55
	os.WriteFile(tb, bad, 0o644)
	if code, _, errs := cli("pack", "inspect", out); code == 0 || !strings.Contains(errs, "thumbnail") || !strings.Contains(errs, "sha256 mismatch") {
		t.Errorf("inspect of a corrupt thumbnail: exit %d, %q", code, errs)
	}
	os.WriteFile(tb, orig, 0o644)
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

// TestPackBuildRefusesForeignManifest: -o over a folder holding another program's
// manifest.json replaced it (a web app's, say). Now the build refuses before embedding, unless
// -force; a toonid pack there is rebuilt as before.
func TestPackBuildRefusesForeignManifest(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	gal := filepath.Join(dir, "gallery.tsv")
	out := t.TempDir()
	foreign := []byte(`{"name": "My App", "start_url": "/", "icons": []}` + "\n")
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli("pack", "build", "-gallery", gal, "-o", out, "-model", mdl)
	if code == 0 || !strings.Contains(errs, "not a toonid pack") || !strings.Contains(errs, "-force") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming -force", code, errs)
	}
	if strings.Contains(errs, "embedding") {
		t.Errorf("refused only after embedding: %q", errs)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "manifest.json")); string(b) != string(foreign) {
		t.Fatalf("the foreign manifest.json was changed:\n%s", b)
	}
	if ents, _ := filepath.Glob(filepath.Join(out, "*.tps")); len(ents) > 0 {
		t.Errorf("shards written next to a foreign manifest: %v", ents)
	}
	// The library refuses too.
	p, err := pack.Build([]pack.Label{{ID: "a"}}, [][][]float32{{{1, 0}}}, pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteDir(out, pack.EncodeOptions{}); err == nil {
		t.Error("WriteDir replaced a foreign manifest.json")
	}
	// A directory in manifest.json's place is refused, -force or not by the check.
	odd := t.TempDir()
	os.Mkdir(filepath.Join(odd, "manifest.json"), 0o755)
	if code, _, errs := cli("pack", "build", "-gallery", gal, "-o", odd, "-model", mdl); code == 0 {
		t.Errorf("a folder named manifest.json: exit 0, %q", errs)
	}
	// -force replaces it; rebuilding over our own pack needs no -force.
	if code, _, errs := cli("pack", "build", "-gallery", gal, "-o", out, "-model", mdl, "-force"); code != 0 {
		t.Fatalf("-force: exit %d, %s", code, errs)
	}
	if code, _, errs := cli("pack", "build", "-gallery", gal, "-o", out, "-model", mdl); code != 0 {
		t.Fatalf("rebuild over a toonid pack: exit %d, %s", code, errs)
	}
	if _, err := pack.Open(os.DirFS(out), pack.OpenOptions{}); err != nil {
		t.Fatal(err)
	}
}
