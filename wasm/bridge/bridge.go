// Package bridge is the browser's wasm module minus syscall/js: the JSON protocol the Web Worker
// (site/worker.js) speaks, and the Session (model, downloaded pack, taught characters) behind it.
// The work itself is package identify's (the crop stage), model's and pack's; keeping syscall/js
// out of here lets native tests reach all of it.
//
//	s, err := bridge.Load(modelBytes, manifestJSON, shardFiles, "simd") // verified bytes from the worker
//	reply := s.Identify(rgba, w, h, []byte(`{"click":{"x":120,"y":80,"unit":400},"k":5}`))
//	// reply: {"answers":[{"id":..,"name":..,"series":..,"score":..}],"unknown":false,"box":[x,y,w,h],...}
//
// wasm/main_js.go only copies bytes between JavaScript and these methods.
package bridge

import (
	"encoding/json"
	"fmt"
	"image"
	"math"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
)

// Version is the message protocol version. It is written here only: site/tools/build.mjs reads
// it into build.json and stamps site/worker.js with it, and the worker refuses a wasm module or
// build.json of any other version (a stale cached page). 2: the views method; 3: the session
// info's taught-character limits, which the worker's enroll reads; 4: checkName and checkUser
// (SetUser's dry run), which the worker's enroll asks before it stores anything; 5: setDetector,
// detect and identifyAll (every face of a frame named in one call); 6: live mode (liveStart,
// liveFrame, liveStop) and teaching from a video (gatherStart, gatherFrame, gatherDone); 7:
// exportPack and importPack (taught characters as a pack archive); 8: identifyFaces (a share of
// a frame's detected faces named by a worker that did not detect them).
const Version = 8

// Bridge answers the protocol's identify, embed, views, detect and identifyAll requests for one
// model, its matcher and (once set) a detector.
type Bridge struct {
	emb   identify.Embedder
	id    *identify.Identifier
	det   *detect.Detector // nil until SetDetector
	match identify.Matcher
	lv    liveState // live.go
}

// New returns a Bridge over an embedder (the model), a matcher (the packs) and a click search.
func New(emb identify.Embedder, m identify.Matcher, s identify.Search) *Bridge {
	return &Bridge{emb: emb, id: identify.New(emb, m, s), match: m}
}

// setMatcher swaps the matcher (after the user teaches or forgets a character).
func (b *Bridge) setMatcher(m identify.Matcher) {
	b.id, b.match = identify.New(b.emb, m, b.id.Search()), m
}

// Request is the protocol's identify request: a click (with the image's shorter side as unit, all
// in the pixels sent) or a box (x, y, w, h); k answers at most. Part (index, of) asks for one
// worker's share of a click search's coarse stage, or with refine (x, y, w, h: the best coarse
// crop over the parts) of its refine stage (identify.Request).
type Request struct {
	Click *struct {
		X, Y, Unit float64
	} `json:"click,omitempty"`
	Box    []int                    `json:"box,omitempty"`
	K      int                      `json:"k,omitempty"`
	Part   *struct{ Index, Of int } `json:"part,omitempty"`
	Refine []int                    `json:"refine,omitempty"`
}

// Identify runs a JSON request on an RGBA image (stride 4*w) and returns the JSON of an
// identify.Reply, or {"error": "..."}; it never panics on bad input.
func (b *Bridge) Identify(pix []byte, w, h int, req []byte) []byte {
	var r Request
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: identify request: %w", err))
	}
	ir := identify.Request{K: r.K}
	if c := r.Click; c != nil {
		ir.Click = &identify.Click{X: c.X, Y: c.Y, Unit: c.Unit}
	}
	for _, b := range []struct {
		name string
		v    []int
		to   **image.Rectangle
	}{{"box", r.Box, &ir.Box}, {"refine", r.Refine, &ir.Refine}} {
		if b.v == nil {
			continue
		}
		if len(b.v) != 4 {
			return errorJSON(fmt.Errorf("bridge: identify: %s %v: want 4 numbers x, y, w, h", b.name, b.v))
		}
		box := image.Rect(b.v[0], b.v[1], b.v[0]+b.v[2], b.v[1]+b.v[3])
		*b.to = &box
	}
	if p := r.Part; p != nil {
		ir.Part = &identify.Part{Index: p.Index, Of: p.Of}
	}
	rep, err := b.id.Identify(pix, w, h, ir)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	return mustJSON(rep)
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
	if err := identify.CheckImage(pix, w, h); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	model.FlattenOnWhite(pix) // the one transparency rule, as Identify applies it
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

// ViewsRequest asks for the crops teaching stores for an answer: Box (x, y, w, h, the box of an
// identify reply, in the pixels of the whole W x H image, fractions allowed).
type ViewsRequest struct {
	Box []float64 `json:"box"`
	W   int       `json:"w"`
	H   int       `json:"h"`
}

// Views returns identify.Search.Views of the request's box as JSON {"views": [[x, y, w, h], ...]}
// or {"error": "..."}: the page teaches a character with these crops, so the neighbours it stores
// are the ones the click search tries.
func (b *Bridge) Views(req []byte) []byte {
	var r ViewsRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: views request: %w", err))
	}
	if err := identify.CheckSize(r.W, r.H); err != nil {
		return errorJSON(fmt.Errorf("bridge: views: %w", err))
	}
	if len(r.Box) != 4 {
		return errorJSON(fmt.Errorf("bridge: views: box %v: want 4 numbers x, y, w, h", r.Box))
	}
	var v [4]int
	for i, f := range r.Box {
		// Bounded before the conversion, so no value can overflow an int.
		if !(math.Abs(f) <= 4*identify.MaxSide) {
			return errorJSON(fmt.Errorf("bridge: views: box %v: values must be finite, at most %d", r.Box, 4*identify.MaxSide))
		}
		v[i] = int(math.Round(f))
	}
	box := image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3])
	if v[2] <= 0 || v[3] <= 0 || !box.Overlaps(image.Rect(0, 0, r.W, r.H)) {
		return errorJSON(fmt.Errorf("bridge: views: box %v not on the %dx%d image", r.Box, r.W, r.H))
	}
	views := b.id.Search().Views(box, r.W, r.H)
	out := make([][4]int, len(views))
	for i, c := range views {
		out[i] = [4]int{c.Min.X, c.Min.Y, c.Dx(), c.Dy()}
	}
	return mustJSON(struct {
		Views [][4]int `json:"views"`
	}{out})
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
