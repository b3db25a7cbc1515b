package identify

import (
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/toonid/toonid/pack"
)

// colourEmbedder stands in for the model: the embedding of a crop is its mean colour plus a
// constant, so which crop matches which character is known in advance.
type colourEmbedder struct{ calls, crops int }

func (c *colourEmbedder) Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error) {
	if !box.In(image.Rect(0, 0, w, h)) || box.Empty() {
		return nil, fmt.Errorf("box %v outside %dx%d", box, w, h)
	}
	var s [3]float64
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			for ch := range 3 {
				s[ch] += float64(pix[y*stride+4*x+ch])
			}
		}
	}
	n := float64(box.Dx() * box.Dy() * 255)
	return []float32{float32(s[0] / n), float32(s[1] / n), float32(s[2] / n), 0.1}, nil
}

func (c *colourEmbedder) EmbedBatch(in [][]float32) ([][]float32, error) {
	c.calls++
	c.crops += len(in)
	out := make([][]float32, len(in))
	for i, v := range in {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out[i] = make([]float32, len(v))
		for j, x := range v {
			out[i][j] = float32(float64(x) / math.Sqrt(n))
		}
	}
	return out, nil
}

const testSHA = "0000000000000000000000000000000000000000000000000000000000000001"

// testIdentifier matches against two characters, Red and Blue, at threshold 0.9.
func testIdentifier(t testing.TB, search Search) (*Identifier, *colourEmbedder) {
	t.Helper()
	labels := []pack.Label{{ID: "red", Name: "Red", Series: "Colours"}, {ID: "blue", Name: "Blue", Series: "Colours"}}
	embs := [][][]float32{{{1, 0, 0, 0.1}}, {{0, 0, 1, 0.1}}}
	p, err := pack.Build(labels, embs, pack.BuildOptions{Name: "test", ModelSHA256: testSHA, Threshold: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pack.NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	e := &colourEmbedder{}
	// The test scenes are squares of flat colour, which the flat gate (FlatEdge) would take for
	// backgrounds; TestFlatCropsAreNotMatched tests it on them.
	search.FlatEdge = 0
	return New(e, m, search), e
}

// scene is a grey 400x300 image with a red 100x100 square at (200, 100).
func scene() ([]byte, int, int) {
	w, h := 400, 300
	pix := make([]byte, 4*w*h)
	for y := range h {
		for x := range w {
			c := [4]byte{128, 128, 128, 255}
			if x >= 200 && x < 300 && y >= 100 && y < 200 {
				c = [4]byte{255, 0, 0, 255}
			}
			copy(pix[4*(y*w+x):], c[:])
		}
	}
	return pix, w, h
}

func TestIdentifyClickFindsStrongestCrop(t *testing.T) {
	search := DefaultSearch()
	search.Confident = 0 // always refine
	id, e := testIdentifier(t, search)
	pix, w, h := scene()
	r, err := id.Identify(pix, w, h, Request{Click: &Click{X: 250, Y: 150, Unit: 300}, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Unknown || len(r.Answers) != 2 || r.Answers[0].ID != "red" || r.Answers[0].Name != "Red" {
		t.Fatalf("answers %+v unknown %v, want red first and known", r.Answers, r.Unknown)
	}
	box := image.Rect(r.Box[0], r.Box[1], r.Box[0]+r.Box[2], r.Box[1]+r.Box[3])
	if !box.In(image.Rect(200, 100, 300, 200)) {
		t.Errorf("box %v: the strongest crop lies inside the red square, the search returned another", box)
	}
	if r.Score < 0.99 || r.Score != r.Answers[0].Score {
		t.Errorf("score %v, answers[0] %v: want the pure-red crop's ~1", r.Score, r.Answers[0].Score)
	}
	if e.calls != 2 || r.Candidates != e.crops {
		t.Errorf("%d EmbedBatch calls for %d crops, reply says %d: want coarse + refine batches", e.calls, e.crops, r.Candidates)
	}
}

// A confident coarse answer skips the refine batch; a weak one does not.
func TestIdentifyClickSkipsRefineWhenConfident(t *testing.T) {
	pix, w, h := scene()
	for _, tc := range []struct {
		name      string
		confident float32
		x, y      float64
		calls     int
	}{
		{"clear red face, margin 0.05", 0.05, 250, 150, 1},
		{"clear red face, margin 0.5 (never reached)", 0.5, 250, 150, 2},
		{"grey background stays below the threshold", 0.05, 40, 40, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			search := DefaultSearch()
			search.Confident = tc.confident
			id, e := testIdentifier(t, search)
			r, err := id.Identify(pix, w, h, Request{Click: &Click{X: tc.x, Y: tc.y, Unit: 300}})
			if err != nil {
				t.Fatal(err)
			}
			if e.calls != tc.calls || r.Candidates != e.crops {
				t.Errorf("%d EmbedBatch calls (%d crops, reply says %d), want %d calls", e.calls, e.crops, r.Candidates, tc.calls)
			}
		})
	}
}

func TestIdentifyBoxAndK(t *testing.T) {
	id, e := testIdentifier(t, DefaultSearch())
	pix, w, h := scene()
	for _, tc := range []struct {
		name    string
		box     image.Rectangle
		k       int
		unknown bool
		answers int
	}{
		{"grey crop is unknown", image.Rect(10, 10, 90, 90), 0, true, 2},
		{"red crop is Red", image.Rect(210, 110, 290, 190), 1, false, 1},
		{"k above MaxK is cut to the characters there are", image.Rect(210, 110, 290, 190), 1 << 30, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.calls, e.crops = 0, 0
			box := tc.box
			r, err := id.Identify(pix, w, h, Request{Box: &box, K: tc.k})
			if err != nil {
				t.Fatal(err)
			}
			if r.Unknown != tc.unknown || len(r.Answers) != tc.answers || r.Candidates != 1 || e.crops != 1 || r.Threshold != 0.9 {
				t.Fatalf("%+v, want unknown %v with %d answers from the one crop", r, tc.unknown, tc.answers)
			}
			if r.Box != [4]int{box.Min.X, box.Min.Y, box.Dx(), box.Dy()} {
				t.Errorf("box %v, want the crop given, %v", r.Box, box)
			}
		})
	}
}

func TestIdentifyRejects(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	pix, w, h := scene()
	box := func(x0, y0, x1, y1 int) *image.Rectangle { r := image.Rect(x0, y0, x1, y1); return &r }
	for _, tc := range []struct {
		name string
		pix  []byte
		w, h int
		req  Request
		want string
	}{
		{"nothing", pix, w, h, Request{}, "needs a click or a box"},
		{"both", pix, w, h, Request{Click: &Click{1, 1, 9}, Box: box(0, 0, 5, 5)}, "not both"},
		{"click outside", pix, w, h, Request{Click: &Click{400, 1, 300}}, "outside"},
		{"click NaN", pix, w, h, Request{Click: &Click{math.NaN(), 1, 300}}, "outside"},
		{"zero unit", pix, w, h, Request{Click: &Click{4, 1, 0}}, "unit"},
		{"box outside", pix, w, h, Request{Box: box(350, 10, 430, 90)}, "not inside"},
		{"empty box", pix, w, h, Request{Box: box(10, 10, 10, 90)}, "not inside"},
		{"short pixels", pix[:100], w, h, Request{Box: box(0, 0, 5, 5)}, "bytes of RGBA"},
		{"huge image", nil, 1 << 20, 1 << 20, Request{Box: box(0, 0, 5, 5)}, "at most"},
		{"negative size", nil, -4, 3, Request{Box: box(0, 0, 5, 5)}, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := id.Identify(tc.pix, tc.w, tc.h, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// beats is site/toonid.js's beats: a matched crop over a flat one, then the higher score, then
// (within a stage) the earlier crop.
func beats(r, best Reply, refine bool) bool {
	if r.Flat != best.Flat {
		return !r.Flat
	}
	return r.Score > best.Score || !refine && r.Score == best.Score && r.Index < best.Index
}

// mergeParts runs a click search as of workers would (Request.Part): the coarse stage in every
// part, the best over them, then, unless that is confident, the refine stage around it. It is
// the reference for what site/toonid.js does with two workers.
func mergeParts(t *testing.T, id *Identifier, pix []byte, w, h int, c Click, of int) Reply {
	t.Helper()
	cands := 0
	stage := func(req func(Part) Request) *Reply {
		var best *Reply
		for i := range of {
			r, err := id.Identify(append([]byte(nil), pix...), w, h, req(Part{Index: i, Of: of}))
			if err != nil {
				t.Fatal(err)
			}
			cands += r.Candidates
			if r.Index >= 0 && (best == nil || beats(r, *best, false)) {
				best = &r
			}
		}
		return best
	}
	best := stage(func(p Part) Request { return Request{Click: &c, Part: &p, K: 3} })
	if !best.Confident {
		box := image.Rect(best.Box[0], best.Box[1], best.Box[0]+best.Box[2], best.Box[1]+best.Box[3])
		if b2 := stage(func(p Part) Request { return Request{Refine: &box, Part: &p, K: 3} }); b2 != nil && beats(*b2, *best, true) {
			best = b2
		}
	}
	best.Candidates = cands
	return *best
}

// A click search shared into parts and merged gives the whole search's answer, crop and
// number of crops, for confident and unconfident clicks and parts with no crop of a stage.
func TestPartsMakeTheWholeSearch(t *testing.T) {
	pix, w, h := scene()
	for _, confident := range []float32{0, 0.05} {
		search := DefaultSearch()
		search.Confident = confident
		id, _ := testIdentifier(t, search)
		for _, c := range []Click{{250, 150, 300}, {205, 105, 300}, {40, 40, 300}, {300, 200, 300}, {399, 0, 300}} {
			whole, err := id.Identify(append([]byte(nil), pix...), w, h, Request{Click: &c, K: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, of := range []int{1, 2, 3, 7} {
				got := mergeParts(t, id, pix, w, h, c, of)
				if got.Box != whole.Box || got.Score != whole.Score || got.Unknown != whole.Unknown || got.Candidates != whole.Candidates ||
					fmt.Sprint(got.Answers) != fmt.Sprint(whole.Answers) {
					t.Errorf("confident %v click %v in %d parts: %+v, whole search %+v", confident, c, of, got, whole)
				}
			}
		}
	}
}

func TestPartRejects(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	pix, w, h := scene()
	box := image.Rect(10, 10, 50, 50)
	c := &Click{X: 20, Y: 20, Unit: 300}
	for name, r := range map[string]Request{
		"index past of":    {Click: c, Part: &Part{Index: 2, Of: 2}},
		"negative index":   {Click: c, Part: &Part{Index: -1, Of: 2}},
		"too many parts":   {Click: c, Part: &Part{Index: 0, Of: MaxParts + 1}},
		"refine, no part":  {Refine: &box},
		"refine and click": {Click: c, Refine: &box, Part: &Part{Of: 2}},
		"box with a part":  {Box: &box, Part: &Part{Of: 2}},
		"refine outside":   {Refine: &image.Rectangle{Min: image.Pt(390, 290), Max: image.Pt(420, 320)}, Part: &Part{Of: 2}},
	} {
		if _, err := id.Identify(append([]byte(nil), pix...), w, h, r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
