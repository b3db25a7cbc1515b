package collect

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"
)

// pageLabels writes labels.tsv as review.html exports it: the run comment, the header, then every
// ticked member of every named cluster. name maps a cluster to a name ("" = not named); skip
// unticks members.
func pageLabels(t *testing.T, p *Proposals, name func(c Cluster) string, skip func(m Member) bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# toonid-collect-labels run=" + p.Run + "\n" + LabelsHeader + "\n")
	for _, c := range p.Clusters {
		n := name(c)
		if n == "" {
			continue
		}
		for _, m := range c.Members {
			if skip != nil && skip(m) {
				continue
			}
			b.WriteString(strings.Join([]string{m.ID, strings.ToLower(strings.ReplaceAll(n, ". ", "-")), n, "SuperTux", "SuperTux Devel Team, GPL-3+"}, "\t") + "\n")
		}
	}
	name2 := filepath.Join(t.TempDir(), "labels.tsv")
	writeFile(t, name2, []byte(b.String()))
	return name2
}

func byCharacter(c Cluster) string {
	return map[string]string{"owl": "Owl", "mr_bomb": "Mr. Bomb"}[character(c.Members[0].Path)]
}

func readLabelsFile(t *testing.T, name string) *Labels {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := ReadLabels(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestApplyRoundTrip(t *testing.T) {
	dir := twoCharacters(t)
	p, review := propose(t, dir, Options{Grid: []int{1}})
	back, err := ReadProposals(os.DirFS(review))
	if err != nil {
		t.Fatal(err)
	}
	// The reviewer names both clusters and unticks one owl.
	var unticked string
	labels := pageLabels(t, back, byCharacter, func(m Member) bool {
		if unticked == "" && character(m.Path) == "owl" {
			unticked = m.ID
			return true
		}
		return false
	})
	out := filepath.Join(t.TempDir(), "gallery")
	res, err := Apply(context.Background(), back, readLabelsFile(t, labels), labels, out, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := p.Stats.Clustered - 1
	if res.Identities != 2 || res.Crops != want {
		t.Fatalf("result %+v, want 2 identities and %d crops", res, want)
	}
	// The gallery reads as `toonid pack build -gallery` reads it, and builds a pack.
	rows, err := eval.ReadGallery(res.Gallery)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != want {
		t.Fatalf("%d gallery rows, want %d", len(rows), want)
	}
	members := back.index()
	paths := make([]string, len(rows))
	for i, r := range rows {
		paths[i] = r.Path
		id := strings.TrimSuffix(filepath.Base(r.Path), ".png")
		m := members[id]
		if m == nil || id == unticked {
			t.Fatalf("gallery row %s: not a ticked proposal", r.Path)
		}
		if r.Label.ID != map[string]string{"owl": "owl", "mr_bomb": "mr-bomb"}[character(m.Path)] || r.Label.Series != "SuperTux" || r.Label.Credit == "" {
			t.Errorf("row %+v for %s", r, m.Path)
		}
		f, err := os.Open(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != m.Box[2] || cfg.Height != m.Box[3] {
			t.Errorf("crop %s: %dx%d %v, want the box's %dx%d", r.Path, cfg.Width, cfg.Height, err, m.Box[2], m.Box[3])
		}
	}
	m := testModel(t)
	embs, err := eval.EmbedFiles(context.Background(), m, paths, eval.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]pack.Item, len(rows))
	for i, r := range rows {
		items[i] = pack.Item{Label: r.Label, Embedding: embs[i]}
	}
	pk, err := pack.BuildItems(items, pack.BuildOptions{Name: "collected", ModelSHA256: m.Info().SHA256})
	if err != nil || len(pk.Labels) != 2 {
		t.Fatalf("pack of the collected gallery: %v labels, %v", len(pk.Labels), err)
	}
	// The iCartoonFace file: "crop x1 y1 x2 y2 label_id", the face box the central half of the crop,
	// as model/train/data.py's read_icartoonface and enlarge(box, 2) expect.
	icf, err := os.ReadFile(res.ICF)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(icf)), "\n")
	if len(lines) != want {
		t.Fatalf("%d iCartoonFace lines, want %d", len(lines), want)
	}
	labelOf := map[string]string{}
	for _, ln := range lines {
		f := strings.Fields(ln)
		if len(f) != 6 {
			t.Fatalf("line %q: %d fields", ln, len(f))
		}
		var v [4]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		mb := members[strings.TrimSuffix(strings.TrimPrefix(f[0], CropDir+"/"), ".png")]
		w, h := float64(mb.Box[2]), float64(mb.Box[3])
		if v != [4]float64{w / 4, h / 4, 3 * w / 4, 3 * h / 4} {
			t.Errorf("line %q: box %v, want the central half of %vx%v", ln, v, w, h)
		}
		if _, err := os.Stat(filepath.Join(out, f[0])); err != nil {
			t.Errorf("line %q: %v", ln, err)
		}
		labelOf[character(mb.Path)] = f[5]
	}
	if labelOf["mr_bomb"] != "0" || labelOf["owl"] != "1" {
		t.Errorf("label ids %v, want mr-bomb 0 and owl 1 (sorted identities)", labelOf)
	}
	table, _ := os.ReadFile(filepath.Join(out, ICFLabelsFile))
	if string(table) != "label_id\tidentity\tname\n0\tmr-bomb\tMr. Bomb\n1\towl\tOwl\n" {
		t.Errorf("label table:\n%s", table)
	}
	// Applying again replaces the crops: one cluster only now.
	labels2 := pageLabels(t, back, func(c Cluster) string {
		if byCharacter(c) == "Owl" {
			return "Owl"
		}
		return ""
	}, nil)
	if _, err := Apply(context.Background(), back, readLabelsFile(t, labels2), labels2, out, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	crops, _ := os.ReadDir(filepath.Join(out, CropDir))
	if rows, _ := eval.ReadGallery(res.Gallery); len(crops) != len(rows) || len(rows) >= want {
		t.Errorf("second apply: %d crops, %d rows (first: %d)", len(crops), len(rows), want)
	}
}

func TestApplyChecksSources(t *testing.T) {
	dir := twoCharacters(t)
	_, review := propose(t, dir, Options{Grid: []int{1}})
	p, err := ReadProposals(os.DirFS(review))
	if err != nil {
		t.Fatal(err)
	}
	labels := pageLabels(t, p, byCharacter, nil)
	l := readLabelsFile(t, labels)

	// The folder moved: apply finds it with Root (-in).
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), p, l, labels, t.TempDir(), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "-in") {
		t.Errorf("folder gone: error %v, want a hint at -in", err)
	}
	if _, err := Apply(context.Background(), p, l, labels, t.TempDir(), ApplyOptions{Root: moved}); err != nil {
		t.Fatalf("moved folder: %v", err)
	}
	// An image changed since propose.
	copyFiles(t, moved, bombs[0]+"=owl_left-0.png")
	if _, err := Apply(context.Background(), p, l, labels, t.TempDir(), ApplyOptions{Root: moved}); err == nil || !strings.Contains(err.Error(), "changed since propose") {
		t.Errorf("changed image: error %v", err)
	}
	// A file apply did not write where it would write is refused, before any image is read
	// (the changed image above is not what the error is about), and nothing is touched.
	notOurs := t.TempDir()
	writeFile(t, filepath.Join(notOurs, CropDir, "mine.png"), []byte("keep"))
	writeFile(t, filepath.Join(notOurs, CropDir, l.Rows[0].Proposal+".png"), []byte("hand-made"))
	if _, err := Apply(context.Background(), p, l, labels, notOurs, ApplyOptions{Root: moved}); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Errorf("someone else's crop: error %v", err)
	}
	for name, want := range map[string]string{"mine.png": "keep", l.Rows[0].Proposal + ".png": "hand-made"} {
		if b, _ := os.ReadFile(filepath.Join(notOurs, CropDir, name)); string(b) != want {
			t.Errorf("%s: %q, want it untouched", name, b)
		}
	}
	// Labels are checked before anything is written.
	bad := filepath.Join(t.TempDir(), "bad.tsv")
	writeFile(t, bad, []byte(LabelsHeader+"\np999999\towl\n"))
	empty := filepath.Join(t.TempDir(), "out")
	if _, err := Apply(context.Background(), p, readLabelsFile(t, bad), bad, empty, ApplyOptions{Root: moved}); err == nil || !strings.Contains(err.Error(), "p999999 is not in proposals.json") {
		t.Errorf("unknown proposal: error %v", err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("a failed check wrote %s", empty)
	}
}

func TestCropImageDownscales(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.png"), solidPNG(t, 300, 200, color.RGBA{10, 120, 240, 255}))
	img, _, err := readImage(mustRoot(t, dir), "big.png", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		box          [4]int
		max          int
		wantW, wantH int
	}{
		{[4]int{10, 10, 100, 100}, 512, 100, 100},
		{[4]int{0, 0, 200, 200}, 64, 64, 64},
		{[4]int{0, 0, 300, 150}, 100, 100, 50},
	} {
		c := cropImage(img, rect(tc.box), tc.max)
		if c.Rect.Dx() != tc.wantW || c.Rect.Dy() != tc.wantH || c.Rect.Min.X != 0 {
			t.Errorf("crop %v max %d: %v, want %dx%d", tc.box, tc.max, c.Rect, tc.wantW, tc.wantH)
		}
		if r, g, b, _ := c.At(c.Rect.Dx()/2, c.Rect.Dy()/2).RGBA(); r>>8 != 10 || g>>8 != 120 || b>>8 != 240 {
			t.Errorf("crop %v: colour %d,%d,%d", tc.box, r>>8, g>>8, b>>8)
		}
	}
}

func rect(b [4]int) image.Rectangle { return image.Rect(b[0], b[1], b[0]+b[2], b[1]+b[3]) }
