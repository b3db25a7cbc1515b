package collect

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

func propose(t *testing.T, in string, opts Options) (*Proposals, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "review")
	if opts.Model == nil {
		opts.Model = testModel(t)
	}
	p, err := Propose(context.Background(), in, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, out
}

// character names the sprite a path shows ("owl_left-2.png" -> "owl").
func character(path string) string {
	base := filepath.Base(path)
	for _, c := range []string{"owl", "mr_bomb"} {
		if strings.HasPrefix(base, c) {
			return c
		}
	}
	return base
}

func TestProposeSplitsTwoCharacters(t *testing.T) {
	dir := twoCharacters(t)
	p, out := propose(t, dir, Options{Grid: []int{1}})
	if p.Stats.Images != 8 || p.Stats.Proposals != 8 || p.Stats.Skipped != 0 {
		t.Fatalf("stats %+v", p.Stats)
	}
	if len(p.Clusters) != 2 {
		t.Fatalf("%d clusters, want 2 (owl, Mr. Bomb): %+v", len(p.Clusters), p.Clusters)
	}
	seen := map[string]int{}
	for _, c := range p.Clusters {
		who := character(c.Members[0].Path)
		if _, twice := seen[who]; twice {
			t.Errorf("%s is split over two clusters", who)
		}
		for _, m := range c.Members {
			if character(m.Path) != who {
				t.Errorf("cluster %s mixes %s and %s", c.ID, who, m.Path)
			}
			seen[who] += 1 + m.Dups
			if m.Score <= 0 || m.Score > 1 {
				t.Errorf("member %s score %v", m.ID, m.Score)
			}
			if st, err := os.Stat(filepath.Join(out, ThumbDir, m.ID+".jpg")); err != nil || st.Size() == 0 {
				t.Errorf("thumbnail of %s: %v", m.ID, err)
			}
			if im := p.Images[m.Image]; m.Box != [4]int{0, 0, im.Width, im.Height} {
				t.Errorf("%s: box %v, want the whole %dx%d sprite", m.ID, m.Box, im.Width, im.Height)
			}
		}
		if c.Suggestion != nil || c.Cohesion < 0.6 {
			t.Errorf("cluster %s: suggestion %v cohesion %v", c.ID, c.Suggestion, c.Cohesion)
		}
		for i := 1; i < len(c.Members); i++ {
			if c.Members[i].Score > c.Members[i-1].Score {
				t.Errorf("cluster %s: members not sorted by score", c.ID)
			}
		}
	}
	// Every image is in a cluster, as a member or as a dropped near-duplicate of one.
	if seen["owl"] != 4 || seen["mr_bomb"] != 4 {
		t.Errorf("images per character %v, want 4 and 4", seen)
	}
	// The review folder has everything the page needs.
	for _, f := range []string{ProposalsFile, ProposalsScript, "review.html", "review.js"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	js, _ := os.ReadFile(filepath.Join(out, ProposalsScript))
	if !bytes.HasPrefix(js[bytes.IndexByte(js, '\n')+1:], []byte("globalThis.toonidProposals = {")) {
		t.Errorf("proposals.js starts %q", js[:min(120, len(js))])
	}
	back, err := ReadProposals(os.DirFS(out))
	if err != nil {
		t.Fatal(err)
	}
	if back.Run != p.Run || len(back.Run) != 16 || back.Root != dir {
		t.Errorf("read back run %q root %q; wrote %q %q", back.Run, back.Root, p.Run, dir)
	}
}

func TestProposeIsDeterministic(t *testing.T) {
	dir := twoCharacters(t)
	_, a := propose(t, dir, Options{})
	_, b := propose(t, dir, Options{})
	ja, _ := os.ReadFile(filepath.Join(a, ProposalsFile))
	jb, _ := os.ReadFile(filepath.Join(b, ProposalsFile))
	if !bytes.Equal(ja, jb) {
		t.Fatal("two runs over the same folder wrote different proposals.json")
	}
	// With one core the batches run in another order; the answer is the same.
	prev := runtime.GOMAXPROCS(1)
	_, c := propose(t, dir, Options{})
	runtime.GOMAXPROCS(prev)
	if jc, _ := os.ReadFile(filepath.Join(c, ProposalsFile)); !bytes.Equal(ja, jc) {
		t.Fatal("GOMAXPROCS=1 wrote a different proposals.json")
	}
	// Proposing again into the same review folder replaces the previous run.
	if _, err := Propose(context.Background(), dir, a, Options{Model: testModel(t), Grid: []int{1}}); err != nil {
		t.Fatal(err)
	}
	thumbs, _ := os.ReadDir(filepath.Join(a, ThumbDir))
	if len(thumbs) >= strings.Count(string(ja), `"id": "p`) {
		t.Errorf("%d thumbnails after a smaller second run: the first run's were kept", len(thumbs))
	}
}

func TestProposeThumbnailIsTheModelInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), solidPNG(t, 40, 40, color.RGBA{200, 40, 30, 255}))
	writeFile(t, filepath.Join(dir, "b.png"), solidPNG(t, 50, 50, color.RGBA{200, 40, 30, 255}))
	p, out := propose(t, dir, Options{Grid: []int{1}, MinSize: 1})
	if len(p.Clusters) != 1 || len(p.Clusters[0].Members) != 1 || p.Clusters[0].Members[0].Dups != 1 {
		t.Fatalf("two identical solid images: want one member with one near-duplicate, got %+v", p.Clusters)
	}
	f, err := os.Open(filepath.Join(out, ThumbDir, p.Clusters[0].Members[0].ID+".jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != p.Model.Input || b.Dy() != p.Model.Input {
		t.Errorf("thumbnail %v, want the model's %d px input", b, p.Model.Input)
	}
	r, g, b, _ := img.At(48, 48).RGBA()
	if d := absDiff(r>>8, 200) + absDiff(g>>8, 40) + absDiff(b>>8, 30); d > 24 {
		t.Errorf("thumbnail colour %d,%d,%d, want about 200,40,30", r>>8, g>>8, b>>8)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestProposePrelabelsWithAPack(t *testing.T) {
	m := testModel(t)
	// A pack that knows the owl, from two of its sprites.
	var items []pack.Item
	for _, f := range owls[:2] {
		img, _, err := readImage(mustRoot(t, galleryImg), f, 0)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.EmbedImage(img, img.Bounds())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, pack.Item{Label: pack.Label{ID: "owl", Name: "Owl", Series: "SuperTux", Credit: "SuperTux Devel Team, GPL-3+"}, Embedding: v})
	}
	pk, err := pack.BuildItems(items, pack.BuildOptions{Name: "owls", ModelSHA256: m.Info().SHA256, Threshold: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	packDir := t.TempDir()
	if _, err := pk.WriteDir(packDir, pack.EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	opened, err := pack.Open(os.DirFS(packDir), pack.OpenOptions{ModelSHA256: m.Info().SHA256})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := pack.NewMatcher(opened)
	if err != nil {
		t.Fatal(err)
	}
	// The folder: the two other owls and the four bombs.
	dir := t.TempDir()
	copyFiles(t, dir, append(append([]string{}, owls[2:]...), bombs...)...)
	p, _ := propose(t, dir, Options{Grid: []int{1}, Matcher: mt, PackNames: []string{"owls"}})
	if p.Pack == nil || p.Pack.Threshold != 0.7 || p.Pack.Names[0] != "owls" {
		t.Errorf("pack ref %+v", p.Pack)
	}
	var sugg, plain []Cluster
	for _, c := range p.Clusters {
		if c.Suggestion != nil {
			sugg = append(sugg, c)
		} else {
			plain = append(plain, c)
		}
	}
	if len(sugg) != 1 || sugg[0].Suggestion.ID != "owl" || sugg[0].Suggestion.Name != "Owl" || len(sugg[0].Members) != 2 {
		t.Fatalf("suggested groups %+v, want one Owl group of the two owls", sugg)
	}
	for _, mb := range sugg[0].Members {
		if character(mb.Path) != "owl" || mb.Match == nil || mb.Match.ID != "owl" || mb.Match.Score < 0.7 {
			t.Errorf("suggested member %+v", mb)
		}
	}
	if len(plain) != 1 || character(plain[0].Members[0].Path) != "mr_bomb" {
		t.Fatalf("unsuggested clusters %+v, want the Mr. Bomb cluster", plain)
	}
	for _, mb := range plain[0].Members {
		if mb.Match != nil {
			t.Errorf("%s: the pack answered %+v above its threshold", mb.Path, mb.Match)
		}
	}
	if p.Stats.Suggested != 2 {
		t.Errorf("stats %+v", p.Stats)
	}
}

func mustRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// hugePNG claims w x h pixels in a valid IHDR (correct CRC) with no image data behind it.
func hugePNG(t *testing.T, w, h uint32) []byte {
	b := solidPNG(t, 1, 1, color.White)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestProposeSkipsHostileAndBrokenFiles(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "in")
	outside := filepath.Join(base, "secret")
	copyFiles(t, dir, owls[0]+"=good/owl.png", owls[1]+"=good/owl1.png")
	copyFiles(t, outside, owls[2]+"=owl.png")
	png := solidPNG(t, 32, 32, color.RGBA{1, 2, 3, 255})
	whole, err := os.ReadFile(filepath.Join(galleryImg, owls[3]))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"notes.txt":            []byte("not an image"),
		"corrupt.png":          []byte("\x89PNG\r\n\x1a\nthis is not a png"),
		"truncated.jpg":        {0xff, 0xd8, 0xff},
		"cut.png":              whole[:len(whole)/2], // the header reads, the pixels do not
		"huge.png":             hugePNG(t, 100000, 100000),
		"tab\tname.png":        png,
		"new\nline.png":        png,
		".hidden.png":          png,
		".git/objects/x.png":   png,
		"bad\x7fdel/photo.png": png,
	} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	if err := os.Symlink(filepath.Join(outside, "owl.png"), filepath.Join(dir, "escape.png")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("good/owl.png", filepath.Join(dir, "inside.png")); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	p, _ := propose(t, dir, Options{Grid: []int{1}, MinSize: 1, Warn: func(s string) { warnings = append(warnings, s) }})
	var used []string
	for _, im := range p.Images {
		used = append(used, im.Path)
	}
	if strings.Join(used, " ") != "good/owl.png good/owl1.png inside.png" {
		t.Errorf("images used %v, want the two owls and the symlink inside the folder", used)
	}
	reasons := map[string]string{}
	for _, s := range p.Skipped {
		reasons[s.Path] = s.Reason
	}
	for path, want := range map[string]string{
		"notes.txt":       "not an image",
		"corrupt.png":     "unreadable image",
		"truncated.jpg":   "unreadable image",
		"linked-dir":      "symlink to a folder",
		"cut.png":         "pixel data",
		"huge.png":        "over the limit",
		`"tab\tname.png"`: "control character",
		`"new\nline.png"`: "control character",
		`"bad\x7fdel"`:    "control character",
		"escape.png":      "outside the folder",
	} {
		if got, ok := reasons[path]; !ok || !strings.Contains(got, want) {
			t.Errorf("skip of %s: %q, want a reason mentioning %q (all: %v)", path, got, want, reasons)
		}
	}
	for path := range reasons {
		if strings.Contains(path, "hidden") || strings.Contains(path, ".git") {
			t.Errorf("%s listed as skipped; hidden files are passed over silently", path)
		}
	}
	if len(warnings) != len(p.Skipped) || p.Stats.Skipped != len(p.Skipped) {
		t.Errorf("%d warnings, %d skipped, stats %d", len(warnings), len(p.Skipped), p.Stats.Skipped)
	}
}

func TestProposeRefuses(t *testing.T) {
	dir := twoCharacters(t)
	m := testModel(t)
	notOurs := t.TempDir()
	writeFile(t, filepath.Join(notOurs, ThumbDir, "keep.jpg"), []byte("a file someone keeps"))
	for _, tc := range []struct {
		name string
		in   string
		out  string
		opts Options
		want string
	}{
		{"no model", dir, t.TempDir(), Options{}, "no model"},
		{"review folder inside the input", dir, filepath.Join(dir, "review"), Options{Model: m}, "inside the input folder"},
		{"review folder is the input", dir, dir, Options{Model: m}, "inside the input folder"},
		{"someone else's thumbs", dir, notOurs, Options{Model: m}, "not overwriting"},
		{"too many proposals", dir, t.TempDir(), Options{Model: m, MaxProposals: 10}, "more than 10 proposals"},
		{"missing input", filepath.Join(dir, "nope"), t.TempDir(), Options{Model: m}, "no such file"},
		{"bad link", dir, t.TempDir(), Options{Model: m, Link: 2}, "link"},
		{"nothing to propose", dir, t.TempDir(), Options{Model: m, Grid: []int{}}, "nothing to propose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Propose(context.Background(), tc.in, tc.out, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(notOurs, ThumbDir, "keep.jpg")); string(b) != "a file someone keeps" {
		t.Error("a thumbs folder propose did not write was changed")
	}
}

func TestProposeWithBoxes(t *testing.T) {
	dir := t.TempDir()
	copyFiles(t, dir, "../testimages/sintel_trailer_048.jpg=frames/f048.jpg", owls[0]+"=frames/owl.png")
	writeFile(t, filepath.Join(dir, "frames/wide.png"), solidPNG(t, 9000, 10, color.Black))
	faces, err := os.ReadFile("../gallery/testimages/faces.tsv")
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := ReadBoxes(strings.NewReader(strings.ReplaceAll(string(faces), "sintel_trailer_048.jpg", "frames/f048.jpg")+
		"frames/f048.jpg\tx\t800\t400\t200\t200\tpartly outside: clipped\n"+
		"frames/f048.jpg\tx\t2000\t2000\t10\t10\toutside: dropped\n"+
		"frames/missing.jpg\tx\t0\t0\t10\t10\tnot in the folder\n"+
		"frames/wide.png\tx\t0\t0\t9000\t10\tover the model's box limit\n"), "faces.tsv", 1)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	p, _ := propose(t, dir, Options{Boxes: boxes, BoxesName: "faces.tsv", MinSize: 1, Dedup: 2,
		Warn: func(s string) { warnings = append(warnings, s) }})
	if p.Params.Boxes != "faces.tsv" || p.Params.Grid != nil {
		t.Errorf("params %+v", p.Params)
	}
	var got [][4]int
	for _, c := range p.Clusters {
		for _, m := range c.Members {
			if m.Path != "frames/f048.jpg" {
				t.Errorf("proposal of %s, which the box list does not name", m.Path)
			}
			got = append(got, m.Box)
		}
	}
	want := map[[4]int]bool{{296, 69, 219, 219}: true, {800, 400, 48, 80}: true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("boxes %v, want %v", got, want)
	}
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, "outside the 848x480 image") || !strings.Contains(joined, "frames/missing.jpg: in the box list") ||
		!strings.Contains(joined, "frames/wide.png: box (0,0)-(9000,10) left out") {
		t.Errorf("warnings:\n%s", joined)
	}
}
