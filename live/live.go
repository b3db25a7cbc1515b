// Package live names the faces of a playing video frame by frame: detect the faces (package
// detect), embed each face crop (the model), match it (the packs), and hand the crops to a
// track.Tracker, whose running identity decision is the label shown, so a name does not flicker
// when one frame's top-1 is wrong. The detector can run on every Every-th frame only; between,
// the tracker's motion model moves the boxes. It also gathers the crops of one face across a
// clip to teach it (gather.go).
//
//	st, err := live.New(detector, model, matcher, live.DefaultOptions())
//	for each frame {
//		f, err := st.Step(rgba, w, h, timeMS) // f.Faces: {id, box, label (name or "?"), score}
//	}
//
// Pure Go, no syscall/js: wasm/bridge speaks it to the browser's Web Worker, tested natively.
// A Stepper is not safe for concurrent use.
package live

import (
	"errors"
	"fmt"
	"time"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/track"
)

// Unknown is the label of a face whose track has not settled on a character.
const Unknown = "?"

// Options configures a Stepper.
type Options struct {
	// Every: the detector (and the embedder) run on every Every-th frame; the frames between
	// show the tracker's predicted boxes. 1: every frame (make bench-live measures 1 against 2
	// and 3; BENCHMARKS.md says which pays).
	Every int
	// K answers per face go into the track's vote. 5.
	K int
	// MaxFaces: at most this many faces (best detector score first) are embedded per frame;
	// each costs a network pass. 6.
	MaxFaces int
	// MinScore drops detections below this detector score before they cost an embedding.
	// 0: the detector's own threshold.
	MinScore float32
	// FlatEdge drops detections whose crop is too flat to be a face (identify.IsFlat at it: a
	// false alarm on sky or a blurred background) before they cost an embedding, as
	// identify.IdentifyAll does. identify.FlatEdge; 0: none dropped.
	FlatEdge float32
	// Track configures the tracker.
	Track track.Config
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{Every: 1, K: 5, MaxFaces: 6, FlatEdge: identify.FlatEdge, Track: track.DefaultConfig()}
}

// MaxEvery bounds Options.Every: beyond it a label would trail a moving face by too much.
const MaxEvery = 30

// ErrOptions is wrapped by the errors of New for options out of range.
var ErrOptions = errors.New("live: invalid options")

func (o Options) validate() error {
	switch {
	case o.Every < 1 || o.Every > MaxEvery:
		return fmt.Errorf("%w: Every = %d, want 1..%d", ErrOptions, o.Every, MaxEvery)
	case o.K < 1 || o.K > identify.MaxK:
		return fmt.Errorf("%w: K = %d, want 1..%d", ErrOptions, o.K, identify.MaxK)
	case o.MaxFaces < 1 || o.MaxFaces > detect.MaxBoxes:
		return fmt.Errorf("%w: MaxFaces = %d, want 1..%d", ErrOptions, o.MaxFaces, detect.MaxBoxes)
	case !(o.MinScore >= 0 && o.MinScore <= 1):
		return fmt.Errorf("%w: MinScore = %v, want 0..1", ErrOptions, o.MinScore)
	case !(o.FlatEdge >= 0 && o.FlatEdge < 100):
		return fmt.Errorf("%w: FlatEdge = %v, want 0..100", ErrOptions, o.FlatEdge)
	}
	return o.Track.Validate()
}

// Face is one shown face of a frame.
type Face struct {
	ID  uint64     `json:"id"`  // the track's ID: the same face keeps it across frames
	Box [4]float64 `json:"box"` // x, y, w, h in the frame's pixels
	// Crop is the embedder's crop of Box (identify.FaceCrop; it may leave the frame): what a
	// click on the face identifies.
	Crop   [4]int `json:"crop"`
	CharID string `json:"charID"` // the decided character's id, "" for unknown
	Label  string `json:"label"`  // its name, or Unknown
	Series string `json:"series,omitempty"`
	// Score is the label's smoothed cosine score; Confidence its share of the track's votes.
	Score      float32 `json:"score"`
	Confidence float32 `json:"confidence"`
	Predicted  bool    `json:"predicted"` // no detection this frame: the motion model's box
}

// Frame is what Step returns for one frame.
type Frame struct {
	Faces []Face `json:"faces"`
	// Detected: the detector ran on this frame; Detections: the faces it found and embedded.
	Detected   bool    `json:"detected"`
	Detections int     `json:"detections"`
	MS         float64 `json:"ms"` // time Step took
}

// Stepper runs live mode over one video.
type Stepper struct {
	det   identify.FaceDetector
	emb   identify.Embedder
	match identify.Matcher
	opt   Options
	tr    *track.Tracker
	n     int     // frames stepped since Reset
	last  float64 // the last frame's time
	names map[string]pack.Answer
	bufs  [][]float32
}

// New returns a Stepper over a detector, an embedder (the model) and a matcher (the packs).
func New(det identify.FaceDetector, emb identify.Embedder, m identify.Matcher, opt Options) (*Stepper, error) {
	if det == nil || emb == nil || m == nil {
		return nil, errors.New("live: New needs a detector, an embedder and a matcher")
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	tr, err := track.New(opt.Track)
	if err != nil {
		return nil, err
	}
	return &Stepper{det: det, emb: emb, match: m, opt: opt, tr: tr, names: map[string]pack.Answer{}}, nil
}

// WillDetect reports whether a frame at time t would run the detector (so Step needs its pixels).
func (s *Stepper) WillDetect(t float64) bool {
	return s.n == 0 || t < s.last || s.n%s.opt.Every == 0
}

// SetMatcher swaps the matcher (the user taught or forgot a character); tracks keep their votes.
func (s *Stepper) SetMatcher(m identify.Matcher) { s.match = m }

// Reset forgets every track: a new video, or a seek.
func (s *Stepper) Reset() {
	s.tr.Reset()
	s.n = 0
}

// Step takes one frame (non-premultiplied RGBA, stride 4*w) at time t (ms on the video's clock)
// and returns its shown faces. A time before the last frame's means the video was seeked back:
// the tracks are forgotten first (Reset). Frames the detector skips (WillDetect false) need no
// pixels: pix may be nil, so a caller that asks WillDetect first never copies them. Bad input
// is an error and changes nothing.
func (s *Stepper) Step(pix []byte, w, h int, t float64) (Frame, error) {
	t0 := time.Now()
	if !(t >= 0 && t < 1e12) {
		return Frame{}, fmt.Errorf("live: frame time %v ms: want a finite time >= 0", t)
	}
	if s.n > 0 && t < s.last {
		s.Reset()
	}
	if pix != nil || s.n%s.opt.Every == 0 {
		if err := identify.CheckImage(pix, w, h); err != nil {
			return Frame{}, fmt.Errorf("live: %w", err)
		}
	}
	var f Frame
	var out []track.Output
	var err error
	if s.n%s.opt.Every == 0 {
		var dets []track.Detection
		dets, err = s.detections(pix, w, h)
		if err == nil {
			f.Detected, f.Detections = true, len(dets)
			out, err = s.tr.Update(t, dets)
		}
	} else {
		out, err = s.tr.Predict(t)
	}
	if err != nil {
		return Frame{}, fmt.Errorf("live: %w", err)
	}
	s.n++
	s.last = t
	f.Faces = make([]Face, len(out))
	for i, o := range out {
		c := identify.FaceCrop(detect.Box{X: float32(o.Box.X), Y: float32(o.Box.Y), W: float32(o.Box.W), H: float32(o.Box.H)})
		fc := Face{ID: o.TrackID, Box: [4]float64{o.Box.X, o.Box.Y, o.Box.W, o.Box.H}, Crop: [4]int{c.Min.X, c.Min.Y, c.Dx(), c.Dy()},
			CharID: o.Label, Label: Unknown, Score: o.Score, Confidence: o.Confidence, Predicted: o.Predicted}
		if a, ok := s.names[o.Label]; ok && o.Label != "" {
			fc.Label, fc.Series = a.Name, a.Series
		}
		f.Faces[i] = fc
	}
	f.MS = float64(time.Since(t0).Microseconds()) / 1000
	return f, nil
}

// faces runs the detector and embeds its best MaxFaces faces (identify.FaceCrop each).
func (s *Stepper) faces(pix []byte, w, h int) ([]detect.Box, [][]float32, error) {
	return embedFaces(s.det, s.emb, s.opt.MaxFaces, s.opt.MinScore, s.opt.FlatEdge, &s.bufs, pix, w, h)
}

func embedFaces(det identify.FaceDetector, emb identify.Embedder, maxFaces int, minScore, flatEdge float32, bufs *[][]float32, pix []byte, w, h int) ([]detect.Box, [][]float32, error) {
	all, err := identify.Detect(pix, w, h, det)
	if err != nil {
		return nil, nil, err
	}
	boxes := make([]detect.Box, 0, min(len(all), maxFaces))
	for _, b := range all { // best first
		if len(boxes) == maxFaces {
			break
		}
		if b.Score >= minScore && b.W > 0 && b.H > 0 && !identify.IsFlat(pix, w, h, identify.FaceCrop(b), flatEdge) {
			boxes = append(boxes, b)
		}
	}
	if len(boxes) == 0 {
		return nil, nil, nil
	}
	for len(*bufs) < len(boxes) {
		*bufs = append(*bufs, nil)
	}
	in := make([][]float32, len(boxes))
	for i, b := range boxes {
		t, err := emb.Preprocess((*bufs)[i], pix, 4*w, w, h, identify.FaceCrop(b))
		if err != nil {
			return nil, nil, fmt.Errorf("preprocess: %w", err)
		}
		(*bufs)[i], in[i] = t, t
	}
	embs, err := emb.EmbedBatch(in)
	if err != nil {
		return nil, nil, fmt.Errorf("embed: %w", err)
	}
	if len(embs) != len(boxes) {
		return nil, nil, fmt.Errorf("embed: %d embeddings for %d crops", len(embs), len(boxes))
	}
	return boxes, embs, nil
}

func (s *Stepper) detections(pix []byte, w, h int) ([]track.Detection, error) {
	boxes, embs, err := s.faces(pix, w, h)
	if err != nil {
		return nil, err
	}
	dets := make([]track.Detection, len(boxes))
	for i, b := range boxes {
		r, err := s.match.Match(embs[i], s.opt.K)
		if err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		answers := make([]track.Answer, len(r.Answers))
		for j, a := range r.Answers {
			answers[j] = track.Answer{ID: a.ID, Score: a.Score}
			s.names[a.ID] = pack.Answer{ID: a.ID, Name: a.Name, Series: a.Series}
		}
		dets[i] = track.Detection{
			Box:   track.Box{X: float64(b.X), Y: float64(b.Y), W: float64(b.W), H: float64(b.H)},
			Score: b.Score, Embedding: embs[i], Answers: answers, Threshold: r.Threshold,
		}
	}
	return dets, nil
}
