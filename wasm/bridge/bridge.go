// Package bridge is everything the browser's wasm module does, kept free of syscall/js so native
// tests reach all of it: it embeds the crops a click or box asks for, matches them with the pack
// matcher and answers in the JSON the Web Worker (site/worker.js) reads.
//
//	b, err := bridge.Load(modelBytes, manifestJSON, shardFiles) // verified bytes from the worker
//	reply := b.Identify(rgba, w, h, []byte(`{"click":{"x":120,"y":80,"unit":400},"k":5}`))
//	// reply: {"answers":[{"id":..,"name":..,"series":..,"score":..}],"unknown":false,"box":[x,y,w,h],...}
//
// wasm/main_js.go only copies bytes between JavaScript and these methods.
package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"time"
)

// Version is the message protocol version; site/worker.js refuses any other.
const Version = 1

// Embedder is the part of *model.Model the bridge needs.
type Embedder interface {
	Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error)
	EmbedBatch(in [][]float32) ([][]float32, error)
}

// An Answer is one named candidate; Score is the cosine similarity of the query to the
// character's best reference vector.
type Answer struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Series string  `json:"series"`
	Score  float32 `json:"score"`
}

// Match is a matcher's answer for one embedding.
type Match struct {
	Answers   []Answer
	Unknown   bool
	Threshold float32
}

// Matcher is the pack matcher as the bridge uses it (see matcher.go for the pack adapter).
type Matcher interface {
	Match(q []float32, k int) (Match, error)
}

// Bridge answers identify and embed requests for one loaded model and its matcher.
type Bridge struct {
	emb     Embedder
	matcher Matcher
	search  Search
	now     func() time.Time
}

// New returns a Bridge over an embedder and a matcher.
func New(emb Embedder, m Matcher, s Search) *Bridge {
	return &Bridge{emb: emb, matcher: m, search: s, now: time.Now}
}

// SetMatcher swaps the matcher (after the user teaches or forgets a character).
func (b *Bridge) SetMatcher(m Matcher) { b.matcher = m }

// Request is an identify request: a click (with the image's shorter side as unit, all in the
// pixels sent) or a box; k answers at most.
type Request struct {
	Click *struct {
		X, Y, Unit float64
	} `json:"click,omitempty"`
	Box []int `json:"box,omitempty"`
	K   int   `json:"k,omitempty"`
}

// Reply is the identify answer. Box is the crop the answer came from (x, y, w, h);
// Candidates counts the crops embedded to find it.
type Reply struct {
	Answers    []Answer `json:"answers"`
	Unknown    bool     `json:"unknown"`
	Score      float32  `json:"score"`
	Threshold  float32  `json:"threshold"`
	Box        [4]int   `json:"box"`
	Candidates int      `json:"candidates"`
	MS         float64  `json:"ms"`
}

const (
	maxPixels = 4096 * 4096
	maxK      = 50
)

// Identify runs a JSON request on an RGBA image (stride 4*w) and returns a JSON reply, or
// {"error": "..."}; it never panics on bad input.
func (b *Bridge) Identify(pix []byte, w, h int, req []byte) []byte {
	var r Request
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: identify request: %w", err))
	}
	rep, err := b.identify(pix, w, h, r)
	if err != nil {
		return errorJSON(err)
	}
	return mustJSON(rep)
}

func (b *Bridge) identify(pix []byte, w, h int, r Request) (Reply, error) {
	t0 := b.now()
	if err := checkImage(pix, w, h); err != nil {
		return Reply{}, err
	}
	k := r.K
	if k <= 0 {
		k = 5
	}
	k = min(k, maxK)
	var best scored
	var n int
	var err error
	switch {
	case r.Click != nil && r.Box != nil:
		return Reply{}, errors.New("bridge: identify: give a click or a box, not both")
	case r.Click != nil:
		c := r.Click
		if !(c.X >= 0 && c.X < float64(w) && c.Y >= 0 && c.Y < float64(h)) || !(c.Unit > 0 && c.Unit < 1e6) {
			return Reply{}, fmt.Errorf("bridge: identify: click (%g, %g) unit %g outside the %dx%d image", c.X, c.Y, c.Unit, w, h)
		}
		best, n, err = b.click(pix, w, h, c.X, c.Y, c.Unit, k)
	case len(r.Box) == 4:
		box := image.Rect(r.Box[0], r.Box[1], r.Box[0]+r.Box[2], r.Box[1]+r.Box[3])
		if box.Empty() || !box.In(image.Rect(0, 0, w, h)) {
			return Reply{}, fmt.Errorf("bridge: identify: box %v not inside the %dx%d image", r.Box, w, h)
		}
		var s []scored
		s, err = b.score(pix, w, h, []image.Rectangle{box}, k)
		if err == nil {
			best, n = s[0], 1
		}
	default:
		return Reply{}, errors.New("bridge: identify: request needs a click or a 4-number box")
	}
	if err != nil {
		return Reply{}, err
	}
	bx := best.box
	return Reply{
		Answers: nonNil(best.m.Answers), Unknown: best.m.Unknown, Score: best.top(),
		Threshold: best.m.Threshold, Box: [4]int{bx.Min.X, bx.Min.Y, bx.Dx(), bx.Dy()},
		Candidates: n, MS: float64(b.now().Sub(t0).Microseconds()) / 1000,
	}, nil
}

type scored struct {
	box image.Rectangle
	m   Match
}

// top is the crop's strength: its best match score, whatever the threshold says.
func (s scored) top() float32 {
	if len(s.m.Answers) == 0 {
		return float32(math.Inf(-1))
	}
	return s.m.Answers[0].Score
}

// click embeds the coarse crops around (x, y), then (unless the best is already confident) the
// refinements of the strongest, and keeps the crop whose best match scores highest. At most two
// EmbedBatch calls, one worker message.
func (b *Bridge) click(pix []byte, w, h int, x, y, unit float64, k int) (scored, int, error) {
	coarse := b.search.Coarse(x, y, unit, w, h)
	s1, err := b.score(pix, w, h, coarse, k)
	if err != nil {
		return scored{}, 0, err
	}
	best := strongest(s1)
	if c := b.search.Confident; c > 0 && len(best.m.Answers) > 0 && best.top() >= best.m.Threshold+c {
		return best, len(coarse), nil
	}
	fine := b.search.Refine(best.box, w, h)
	if len(fine) == 0 {
		return best, len(coarse), nil
	}
	s2, err := b.score(pix, w, h, fine, k)
	if err != nil {
		return scored{}, 0, err
	}
	if b2 := strongest(s2); b2.top() > best.top() {
		best = b2
	}
	return best, len(coarse) + len(fine), nil
}

func strongest(s []scored) scored {
	best := s[0]
	for _, c := range s[1:] {
		if c.top() > best.top() {
			best = c
		}
	}
	return best
}

func (b *Bridge) score(pix []byte, w, h int, boxes []image.Rectangle, k int) ([]scored, error) {
	in := make([][]float32, len(boxes))
	for i, box := range boxes {
		t, err := b.emb.Preprocess(nil, pix, 4*w, w, h, box)
		if err != nil {
			return nil, fmt.Errorf("bridge: preprocess %v: %w", box, err)
		}
		in[i] = t
	}
	embs, err := b.emb.EmbedBatch(in)
	if err != nil {
		return nil, fmt.Errorf("bridge: embed: %w", err)
	}
	if len(embs) != len(boxes) {
		return nil, fmt.Errorf("bridge: embed: %d embeddings for %d crops", len(embs), len(boxes))
	}
	out := make([]scored, len(boxes))
	for i, e := range embs {
		m, err := b.matcher.Match(e, k)
		if err != nil {
			return nil, fmt.Errorf("bridge: match: %w", err)
		}
		out[i] = scored{box: boxes[i], m: m}
	}
	return out, nil
}

// Embed returns the embedding of a whole RGBA image (an enrolment crop) as JSON
// {"embedding": [...]}.
func (b *Bridge) Embed(pix []byte, w, h int) []byte {
	e, err := b.embed(pix, w, h)
	if err != nil {
		return errorJSON(err)
	}
	return mustJSON(struct {
		Embedding []float32 `json:"embedding"`
	}{e})
}

func (b *Bridge) embed(pix []byte, w, h int) ([]float32, error) {
	if err := checkImage(pix, w, h); err != nil {
		return nil, err
	}
	t, err := b.emb.Preprocess(nil, pix, 4*w, w, h, image.Rect(0, 0, w, h))
	if err != nil {
		return nil, fmt.Errorf("bridge: preprocess: %w", err)
	}
	e, err := b.emb.EmbedBatch([][]float32{t})
	if err != nil {
		return nil, fmt.Errorf("bridge: embed: %w", err)
	}
	return e[0], nil
}

// CheckSize is the bridge's rule for an image's size: 1..16384 pixels a side and at most
// 4096·4096 pixels. Tools that decode images for the bridge (`toonid identify -at`) check a
// file's header against it before decoding.
func CheckSize(w, h int) error {
	if w <= 0 || h <= 0 || w > 1<<14 || h > 1<<14 || w*h > maxPixels {
		return fmt.Errorf("bridge: image %dx%d: want 1..16384 per side and at most %d pixels", w, h, maxPixels)
	}
	return nil
}

func checkImage(pix []byte, w, h int) error {
	if err := CheckSize(w, h); err != nil {
		return err
	}
	if len(pix) != 4*w*h {
		return fmt.Errorf("bridge: image %dx%d: %d bytes of RGBA, want %d", w, h, len(pix), 4*w*h)
	}
	return nil
}

func nonNil(a []Answer) []Answer {
	if a == nil {
		return []Answer{}
	}
	return a
}

// ErrorJSON is the reply for a failed request: {"error": "..."}.
func ErrorJSON(err error) []byte { return errorJSON(err) }

func errorJSON(err error) []byte {
	return mustJSON(struct {
		Error string `json:"error"`
	}{err.Error()})
}

// mustJSON marshals values built here from plain fields; NaN scores are the one way it can fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(struct {
			Error string `json:"error"`
		}{"bridge: encode reply: " + err.Error()})
	}
	return b
}
