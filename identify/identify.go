// Package identify is the crop stage between the pixels and the model: given an RGBA image and
// a click point or a box, it picks the crops to embed (the detector-free click search, Search),
// embeds them with the model, matches each embedding against the packs and answers with the
// strongest crop. Crops it chose that are too flat to be a face (no edge: sky, a wall, a blurred
// background) are not embedded (flat.go). The browser's wasm bridge (wasm/bridge) and `toonid
// identify` both call it, so a click is answered the same way everywhere.
//
//	id := identify.New(m, matcher, identify.DefaultSearch()) // m: *model.Model, matcher: *pack.Matcher
//	r, err := id.Identify(rgba.Pix, w, h, identify.Request{Click: &identify.Click{X: 120, Y: 80, Unit: 300}})
//	// r.Answers[0].Name, r.Unknown, r.Box (the crop the answer came from)
package identify

import (
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// Embedder is the part of *model.Model the crop stage needs.
type Embedder interface {
	Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error)
	EmbedBatch(in [][]float32) ([][]float32, error)
}

// Matcher is the part of *pack.Matcher the crop stage needs. Threshold is what Match reports as
// its Result's threshold, for the answers of crops never matched (flat ones, see FlatEdge).
type Matcher interface {
	Match(q []float32, k int) (pack.Result, error)
	Threshold() float32
}

// A Click is a point to search crops around, in the pixels given. Unit is the length the search's
// crop sides are fractions of: the whole image's shorter side, also when only a region around the
// click is sent (site/toonid.js sends the region Search.Extent allows).
type Click struct {
	X, Y, Unit float64
}

// A Request asks for a click search (Click) or for one crop given whole (Box), not both; K is the
// number of answers (DefaultK when 0 or less, at most MaxK).
//
// Part shares a click search between workers (site/toonid.js, with two): each embeds only the
// crops of each stage whose index i has i % Of == Index, and replies with the best of those. The
// caller keeps the best over the parts (a reply that is not Flat over a Flat one, then the
// highest Score, then the lowest Index); unless that one is Confident, it asks every part for
// the refine stage around its Box (Refine, with the same Part), and keeps the refine stage's
// best where it is not Flat and the kept one is, or where it scores higher. That is the whole
// search's answer (TestPartsMakeTheWholeSearch, TestFlatCropsAreNotMatched). A Click with Part
// runs the coarse stage only.
type Request struct {
	Click  *Click
	Box    *image.Rectangle
	K      int
	Part   *Part
	Refine *image.Rectangle
}

// A Part is a worker's share of a click search: Index of Of (1 <= Of <= MaxParts).
type Part struct{ Index, Of int }

// MaxParts bounds the number of parts a click search is shared into.
const MaxParts = 8

// An Answer is one named candidate; Score is the cosine similarity of the crop's embedding to the
// character's best reference vector.
type Answer struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Series string  `json:"series"`
	Score  float32 `json:"score"`
}

// Reply is the answer for one request. Its JSON form is the identify reply of the browser's bridge
// protocol (site/worker.js reads it) and of `toonid identify -at -json`.
type Reply struct {
	Answers   []Answer `json:"answers"` // best first; never nil
	Unknown   bool     `json:"unknown"` // the best score is below the threshold
	Score     float32  `json:"score"`   // the best score (0, and Unknown, when nothing matched)
	Threshold float32  `json:"threshold"`
	// Box is the crop the answer came from, as x, y, width, height (the order the browser uses).
	Box [4]int `json:"box"`
	// Candidates counts the crops tried to find it (flat ones are counted, not embedded).
	Candidates int     `json:"candidates"`
	MS         float64 `json:"ms"` // time spent, in milliseconds
	// For a Part: Index is the crop's place in its stage's list (-1 when the part had none),
	// Confident whether its score makes the refine stage unnecessary.
	Index     int  `json:"index"`
	Confident bool `json:"confident"`
	// Flat: every crop the click search tried was too flat to be a face (Search.FlatEdge), so
	// none was matched; the reply is Unknown with no answers. A Box is never gated.
	Flat bool `json:"flat"`
}

const (
	// DefaultK is the number of answers when a request does not say.
	DefaultK = 5
	// MaxK bounds a request's number of answers.
	MaxK = 50
	// MaxPixels bounds an image's area (see CheckSize).
	MaxPixels = 4096 * 4096
	// MaxSide bounds an image's width and height.
	MaxSide = 1 << 14
)

// An Identifier answers requests with one embedder, one matcher and one search. It does not
// change after New; to match against other packs, make another (New is cheap).
type Identifier struct {
	emb    Embedder
	match  Matcher
	search Search
}

// New returns an Identifier over an embedder (the model), a matcher (the packs) and a search.
func New(emb Embedder, m Matcher, s Search) *Identifier {
	return &Identifier{emb: emb, match: m, search: s}
}

// Search is the click search the Identifier uses.
func (id *Identifier) Search() Search { return id.search }

// Identify answers r on a non-premultiplied RGBA image (stride 4*w), as a browser canvas gives
// it; transparent pixels are put on white in place (model.FlattenOnWhite). Bad input (sizes, a
// click outside the image, a box not inside it) is an error, never a panic.
func (id *Identifier) Identify(pix []byte, w, h int, r Request) (Reply, error) {
	t0 := time.Now()
	if err := CheckImage(pix, w, h); err != nil {
		return Reply{}, err
	}
	model.FlattenOnWhite(pix)
	k := clampK(r.K)
	var best scored
	var n int
	var err error
	index := 0
	if p := r.Part; p != nil && !(p.Of >= 1 && p.Of <= MaxParts && p.Index >= 0 && p.Index < p.Of) {
		return Reply{}, fmt.Errorf("identify: part %d of %d: want 0 <= index < of <= %d", p.Index, p.Of, MaxParts)
	}
	switch {
	case btoi(r.Click != nil)+btoi(r.Box != nil)+btoi(r.Refine != nil) > 1:
		return Reply{}, errors.New("identify: give only one of a click, a box and a refine box (not both)")
	case r.Refine != nil && r.Part == nil:
		return Reply{}, errors.New("identify: a refine box needs a part")
	case r.Box != nil && r.Part != nil:
		return Reply{}, errors.New("identify: a part is a share of a click search, not of a box")
	case r.Click != nil:
		c := r.Click
		if !(c.X >= 0 && c.X < float64(w) && c.Y >= 0 && c.Y < float64(h)) || !(c.Unit > 0 && c.Unit < 1e6) {
			return Reply{}, fmt.Errorf("identify: click (%g, %g) unit %g outside the %dx%d image", c.X, c.Y, c.Unit, w, h)
		}
		if r.Part != nil {
			best, index, n, err = id.part(pix, w, h, id.search.Coarse(c.X, c.Y, c.Unit, w, h), *r.Part, k)
		} else {
			best, n, err = id.click(pix, w, h, *c, k)
		}
	case r.Refine != nil:
		b := *r.Refine
		if b.Empty() || !b.In(image.Rect(0, 0, w, h)) {
			return Reply{}, fmt.Errorf("identify: refine box %v not inside the %dx%d image", b, w, h)
		}
		best, index, n, err = id.part(pix, w, h, id.search.Refine(b, w, h), *r.Part, k)
	case r.Box != nil:
		box := *r.Box
		if box.Empty() || !box.In(image.Rect(0, 0, w, h)) {
			return Reply{}, fmt.Errorf("identify: box %v not inside the %dx%d image", box, w, h)
		}
		var s []scored
		s, err = id.score(pix, w, h, []image.Rectangle{box}, k, false) // the caller says it is a face
		if err == nil {
			best, n = s[0], 1
		}
	default:
		return Reply{}, errors.New("identify: request needs a click or a box")
	}
	if err != nil {
		return Reply{}, err
	}
	bx := best.box
	score := best.top()
	if len(best.m.Answers) == 0 { // nothing matched, or a part with no crop: JSON has no -Inf
		score = 0
	}
	return Reply{
		Answers: answersOf(best), Unknown: best.m.Unknown || len(best.m.Answers) == 0, Score: score, Threshold: best.m.Threshold,
		Box:        [4]int{bx.Min.X, bx.Min.Y, bx.Dx(), bx.Dy()},
		Candidates: n, MS: ms(time.Since(t0)),
		Index: index, Confident: index >= 0 && id.confident(best),
		Flat: best.flat,
	}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// part scores the share p of a stage's crops and returns the best of them with its index in
// crops (-1, and a best with no answers, when the share is empty).
func (id *Identifier) part(pix []byte, w, h int, crops []image.Rectangle, p Part, k int) (scored, int, int, error) {
	var mine []image.Rectangle
	var at []int
	for i, c := range crops {
		if i%p.Of == p.Index {
			mine, at = append(mine, c), append(at, i)
		}
	}
	if len(mine) == 0 {
		return scored{}, -1, 0, nil
	}
	s, err := id.score(pix, w, h, mine, k, true)
	if err != nil {
		return scored{}, 0, 0, err
	}
	best := strongest(s)
	return s[best], at[best], len(mine), nil
}

// confident says whether a coarse crop's answer is clear enough to skip the refine stage.
func (id *Identifier) confident(s scored) bool {
	conf := id.search.Confident
	return conf > 0 && len(s.m.Answers) > 0 && s.top() >= s.m.Threshold+conf
}

type scored struct {
	box  image.Rectangle
	m    pack.Result
	flat bool // too flat to be a face: not embedded, no answers (m.Unknown)
}

// top is the crop's strength: its best match score, whatever the threshold says.
func (s scored) top() float32 {
	if len(s.m.Answers) == 0 {
		return float32(math.Inf(-1))
	}
	return s.m.Answers[0].Score
}

// click embeds the coarse crops around the click, then (unless the best is already confident)
// the refinements of the strongest, and keeps the crop whose best match scores highest. At most
// two EmbedBatch calls, so the browser pays for one worker message.
func (id *Identifier) click(pix []byte, w, h int, c Click, k int) (scored, int, error) {
	coarse := id.search.Coarse(c.X, c.Y, c.Unit, w, h)
	s1, err := id.score(pix, w, h, coarse, k, true)
	if err != nil {
		return scored{}, 0, err
	}
	best := s1[strongest(s1)]
	if id.confident(best) {
		return best, len(coarse), nil
	}
	fine := id.search.Refine(best.box, w, h)
	if len(fine) == 0 {
		return best, len(coarse), nil
	}
	s2, err := id.score(pix, w, h, fine, k, true)
	if err != nil {
		return scored{}, 0, err
	}
	if b2 := s2[strongest(s2)]; b2.top() > best.top() {
		best = b2
	}
	return best, len(coarse) + len(fine), nil
}

// strongest is the index of the crop whose best match scores highest (the first on a tie, which
// a shared search's merge keeps too: see Request).
func strongest(s []scored) int {
	best := 0
	for i := range s {
		if s[i].top() > s[best].top() {
			best = i
		}
	}
	return best
}

// score embeds and matches each box, in one EmbedBatch call. With gate, a box too flat to be a
// face (IsFlat at the search's FlatEdge) is neither embedded nor matched: the crops the search and the detector chose
// are gated, a box the caller gives (Request.Box: a region a person drew) is not.
func (id *Identifier) score(pix []byte, w, h int, boxes []image.Rectangle, k int, gate bool) ([]scored, error) {
	out := make([]scored, len(boxes))
	var in [][]float32
	var at []int
	for i, box := range boxes {
		if gate && IsFlat(pix, w, h, box, id.search.FlatEdge) {
			out[i] = scored{box: box, m: pack.Result{Answers: []pack.Answer{}, Unknown: true, Threshold: id.match.Threshold()}, flat: true}
			continue
		}
		t, err := id.emb.Preprocess(nil, pix, 4*w, w, h, box)
		if err != nil {
			return nil, fmt.Errorf("identify: preprocess %v: %w", box, err)
		}
		in, at = append(in, t), append(at, i)
	}
	if len(in) == 0 {
		return out, nil
	}
	embs, err := id.emb.EmbedBatch(in)
	if err != nil {
		return nil, fmt.Errorf("identify: embed: %w", err)
	}
	if len(embs) != len(in) {
		return nil, fmt.Errorf("identify: embed: %d embeddings for %d crops", len(embs), len(in))
	}
	for j, e := range embs {
		m, err := id.match.Match(e, k)
		if err != nil {
			return nil, fmt.Errorf("identify: match: %w", err)
		}
		out[at[j]] = scored{box: boxes[at[j]], m: m}
	}
	return out, nil
}

// CheckSize is the crop stage's rule for an image's size: 1..MaxSide pixels a side and at most
// MaxPixels pixels. Tools that decode images for it (`toonid identify -at`) check a file's header
// against it before decoding.
func CheckSize(w, h int) error {
	if w <= 0 || h <= 0 || w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return fmt.Errorf("identify: image %dx%d: want 1..%d per side and at most %d pixels", w, h, MaxSide, MaxPixels)
	}
	return nil
}

// CheckImage checks an RGBA image's size (CheckSize) and that pix holds exactly its 4*w*h bytes.
func CheckImage(pix []byte, w, h int) error {
	if err := CheckSize(w, h); err != nil {
		return err
	}
	if len(pix) != 4*w*h {
		return fmt.Errorf("identify: image %dx%d: %d bytes of RGBA, want %d", w, h, len(pix), 4*w*h)
	}
	return nil
}
