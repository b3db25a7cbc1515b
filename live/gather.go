package live

import (
	"errors"
	"fmt"
	"math"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/track"
)

// Teaching from a video: the page seeks through the clip (forward from the paused frame, then
// backward from it) and hands each frame to a Gatherer, which follows the clicked face, keeps
// its crops over poses and expressions, drops near-duplicates by embedding, and finally picks
// the crops to teach (Pick): at most the taught-character limit, spread over the crops'
// embeddings so each pose cluster is represented. The taught path (wasm/bridge.UserPack) then
// builds the character's sub-centres from them as a pack's characters get theirs.

// GatherOptions configures a Gatherer.
type GatherOptions struct {
	// MinCosine: a detection is the followed face when its embedding's cosine with one of the
	// face's kept crops is at least this and it lies near where the face was last seen.
	MinCosine float32
	// CutCosine: a detection this similar is the followed face wherever it is (the clip cut
	// to another shot of it).
	CutCosine float32
	// DupCosine: a crop whose cosine with a kept crop is at least this is a near-duplicate
	// (same pose, same light): followed, not kept.
	DupCosine float32
	// MaxJump: "near" is a centre within MaxJump face sides of the last box, plus JumpPerS
	// sides for each second of video since it was last seen.
	MaxJump, JumpPerS float64
	// LostMS: a direction stops after this much video without the face.
	LostMS float64
	// SpanMS: a direction stops this far from the seed frame.
	SpanMS float64
	// MaxCrops bounds the kept crops (the page holds their pixels); gathering stops when full.
	MaxCrops int
	// MaxFaces as in Options: faces embedded per frame.
	MaxFaces int
}

// DefaultGatherOptions returns the defaults. The cosines are the shipped embedder's: crops of
// one face seconds apart score ~0.9-0.98, unrelated characters 0.6-0.8 (measured on the Sintel
// trailer, live/README.md).
func DefaultGatherOptions() GatherOptions {
	return GatherOptions{MinCosine: 0.8, CutCosine: 0.92, DupCosine: 0.97, MaxJump: 1, JumpPerS: 2,
		LostMS: 2000, SpanMS: 30000, MaxCrops: 128, MaxFaces: 6}
}

func (o GatherOptions) validate() error {
	cos := func(v float32) bool { return v >= -1 && v <= 1 }
	switch {
	case !cos(o.MinCosine) || !cos(o.CutCosine) || !cos(o.DupCosine):
		return fmt.Errorf("%w: cosines %v, %v, %v: want -1..1", ErrOptions, o.MinCosine, o.CutCosine, o.DupCosine)
	case !(o.MaxJump >= 0 && o.JumpPerS >= 0 && o.LostMS > 0 && o.SpanMS > 0) || math.IsInf(o.MaxJump+o.JumpPerS+o.LostMS+o.SpanMS, 0):
		return fmt.Errorf("%w: MaxJump %v, JumpPerS %v, LostMS %v, SpanMS %v: want finite, the times > 0", ErrOptions, o.MaxJump, o.JumpPerS, o.LostMS, o.SpanMS)
	case o.MaxCrops < 1 || o.MaxCrops > 4096:
		return fmt.Errorf("%w: MaxCrops = %d, want 1..4096", ErrOptions, o.MaxCrops)
	case o.MaxFaces < 1 || o.MaxFaces > detect.MaxBoxes:
		return fmt.Errorf("%w: MaxFaces = %d, want 1..%d", ErrOptions, o.MaxFaces, detect.MaxBoxes)
	}
	return nil
}

// ErrNoFace is returned by NewGatherer when the seed box holds nothing to follow.
var ErrNoFace = errors.New("live: no face at the seed box")

// Gathered is one frame's outcome.
type Gathered struct {
	// Found: the face is in this frame, at Box (face box) and Crop (the embedder's crop,
	// identify.FaceCrop of Box; it may leave the frame), x, y, w, h in frame pixels.
	Found bool       `json:"found"`
	Box   [4]float64 `json:"box"`
	Crop  [4]int     `json:"crop"`
	// Keep is the index this frame's crop is kept under (the page stores its pixels under it),
	// or -1 (not found, or a near-duplicate of a kept crop).
	Keep int `json:"keep"`
	// Done: the frame's direction (forward or backward from the seed) is finished: the face is
	// lost for LostMS, SpanMS is reached, or MaxCrops are kept (then both are).
	Done  bool    `json:"done"`
	Kept  int     `json:"kept"`  // crops kept so far
	Cos   float32 `json:"cos"`   // the followed detection's best cosine with the kept crops
	Score float32 `json:"score"` // its detector score
}

// direction is the state of one way through the clip.
type direction struct {
	box  track.Box
	seen float64 // time the face was last found
	done bool
}

// Gatherer follows one face through a clip in both directions from a seed frame.
type Gatherer struct {
	det      identify.FaceDetector
	emb      identify.Embedder
	opt      GatherOptions
	seedT    float64
	dirs     [2]direction // forward, backward
	kept     [][]float32
	times    []float64 // the kept crops' times
	min, max float64   // the span of frames the face was found in
	bufs     [][]float32
}

// NewGatherer starts gathering at the seed frame (RGBA, stride 4*w, at time t ms) from the face
// at seed (a face box, x, y, w, h): the detector's face overlapping it most, or the seed box
// itself when the detector finds none there. The seed frame's crop is kept as index 0.
func NewGatherer(det identify.FaceDetector, emb identify.Embedder, pix []byte, w, h int, t float64, seed [4]float64, opt GatherOptions) (*Gatherer, Gathered, error) {
	if det == nil || emb == nil {
		return nil, Gathered{}, errors.New("live: NewGatherer needs a detector and an embedder")
	}
	if err := opt.validate(); err != nil {
		return nil, Gathered{}, err
	}
	if err := identify.CheckImage(pix, w, h); err != nil {
		return nil, Gathered{}, fmt.Errorf("live: %w", err)
	}
	sb := track.Box{X: seed[0], Y: seed[1], W: seed[2], H: seed[3]}
	if !(t >= 0 && t < 1e12) || !(sb.W >= 1 && sb.H >= 1) || !(sb.IoU(track.Box{W: float64(w), H: float64(h)}) > 0) {
		return nil, Gathered{}, fmt.Errorf("%w: box %v at %v ms on a %dx%d frame", ErrNoFace, seed, t, w, h)
	}
	g := &Gatherer{det: det, emb: emb, opt: opt, seedT: t, min: t, max: t}
	boxes, embs, err := embedFaces(det, emb, opt.MaxFaces, 0, 0, &g.bufs, pix, w, h) // no flat gate: a person chose this face
	if err != nil {
		return nil, Gathered{}, fmt.Errorf("live: %w", err)
	}
	best, bestIoU := -1, 0.2 // below this overlap the seed is not that detection
	for i, b := range boxes {
		if v := sb.IoU(boxOf(b)); v > bestIoU {
			best, bestIoU = i, v
		}
	}
	var e []float32
	var db detect.Box
	if best >= 0 {
		db, e = boxes[best], embs[best]
	} else {
		db = detect.Box{X: float32(sb.X), Y: float32(sb.Y), W: float32(sb.W), H: float32(sb.H), Score: 1}
		t, err := emb.Preprocess(nil, pix, 4*w, w, h, identify.FaceCrop(db))
		if err != nil {
			return nil, Gathered{}, fmt.Errorf("live: preprocess: %w", err)
		}
		es, err := emb.EmbedBatch([][]float32{t})
		if err != nil || len(es) != 1 {
			return nil, Gathered{}, fmt.Errorf("live: embed: %w (%d embeddings)", err, len(es))
		}
		e = es[0]
	}
	g.kept = [][]float32{e}
	g.times = []float64{t}
	g.dirs[0] = direction{box: boxOf(db), seen: t}
	g.dirs[1] = g.dirs[0]
	return g, g.outcome(db, 0, 1, false), nil
}

func boxOf(b detect.Box) track.Box {
	return track.Box{X: float64(b.X), Y: float64(b.Y), W: float64(b.W), H: float64(b.H)}
}

func (g *Gatherer) outcome(b detect.Box, keep int, cos float32, done bool) Gathered {
	c := identify.FaceCrop(b)
	return Gathered{Found: true, Box: [4]float64{float64(b.X), float64(b.Y), float64(b.W), float64(b.H)},
		Crop: [4]int{c.Min.X, c.Min.Y, c.Dx(), c.Dy()}, Keep: keep, Done: done, Kept: len(g.kept), Cos: cos, Score: b.Score}
}

// Add looks for the face in one more frame at time t: after the seed's time it belongs to the
// forward direction, before it to the backward one. Within a direction, times must move away
// from the seed. A frame of a finished direction is answered Done and not looked at.
func (g *Gatherer) Add(pix []byte, w, h int, t float64) (Gathered, error) {
	if err := identify.CheckImage(pix, w, h); err != nil {
		return Gathered{}, fmt.Errorf("live: %w", err)
	}
	if !(t >= 0 && t < 1e12) {
		return Gathered{}, fmt.Errorf("live: frame time %v ms: want a finite time >= 0", t)
	}
	di := 0
	if t < g.seedT {
		di = 1
	}
	d := &g.dirs[di]
	dt := math.Abs(t - d.seen)
	if (di == 0 && t < d.seen) || (di == 1 && t > d.seen) {
		return Gathered{}, fmt.Errorf("live: gather: frame at %v ms goes back towards the seed (last seen %v ms)", t, d.seen)
	}
	if !d.done && (dt > g.opt.LostMS || math.Abs(t-g.seedT) > g.opt.SpanMS || len(g.kept) >= g.opt.MaxCrops) {
		d.done = true
	}
	if d.done {
		return Gathered{Keep: -1, Done: true, Kept: len(g.kept)}, nil
	}
	boxes, embs, err := embedFaces(g.det, g.emb, g.opt.MaxFaces, 0, 0, &g.bufs, pix, w, h)
	if err != nil {
		return Gathered{}, fmt.Errorf("live: %w", err)
	}
	side := math.Sqrt(d.box.W * d.box.H)
	reach := side * (g.opt.MaxJump + g.opt.JumpPerS*dt/1000)
	pcx, pcy := d.box.X+d.box.W/2, d.box.Y+d.box.H/2
	best, bestCos := -1, float32(-2)
	for i, b := range boxes {
		c := g.nearest(embs[i])
		bcx, bcy := float64(b.X+b.W/2), float64(b.Y+b.H/2)
		near := math.Hypot(bcx-pcx, bcy-pcy) <= reach
		if ((near && c >= g.opt.MinCosine) || c >= g.opt.CutCosine) && c > bestCos {
			best, bestCos = i, c
		}
	}
	if best < 0 {
		return Gathered{Keep: -1, Kept: len(g.kept)}, nil
	}
	b, e := boxes[best], embs[best]
	d.box, d.seen = boxOf(b), t
	g.min, g.max = math.Min(g.min, t), math.Max(g.max, t)
	keep := -1
	if g.nearest(e) < g.opt.DupCosine {
		keep = len(g.kept)
		g.kept = append(g.kept, append([]float32(nil), e...))
		g.times = append(g.times, t)
	}
	return g.outcome(b, keep, bestCos, len(g.kept) >= g.opt.MaxCrops), nil
}

// nearest is the best cosine of e with a kept crop: the face drifts through poses, so a new
// pose is compared with its neighbours, not with the seed's alone.
func (g *Gatherer) nearest(e []float32) float32 {
	best := float32(-2)
	for _, k := range g.kept {
		best = max(best, cosine(e, k))
	}
	return best
}

func cosine(a, b []float32) float32 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return float32(ab / math.Sqrt(aa*bb))
}

// Summary describes what was gathered.
type Summary struct {
	Kept    int     `json:"kept"`    // crops kept (near-duplicates dropped)
	Picked  []int   `json:"picked"`  // the kept indices chosen to teach, the seed's first
	Seconds float64 `json:"seconds"` // the span of video the face was found over
	From    float64 `json:"from"`    // ms
	To      float64 `json:"to"`      // ms
}

// Pick chooses at most n of the kept crops to teach: the seed's, then each time the kept crop
// farthest (lowest best cosine) from those chosen, so every pose cluster the face showed is
// represented rather than the poses it held longest.
func (g *Gatherer) Pick(n int) Summary {
	s := Summary{Kept: len(g.kept), Seconds: (g.max - g.min) / 1000, From: g.min, To: g.max}
	if n < 1 {
		return s
	}
	best := make([]float32, len(g.kept)) // each crop's best cosine with the chosen
	for i := range best {
		best[i] = -2
	}
	chosen := make([]bool, len(g.kept))
	next := 0
	for len(s.Picked) < min(n, len(g.kept)) {
		s.Picked = append(s.Picked, next)
		chosen[next] = true
		far, farCos := -1, float32(2)
		for i, k := range g.kept {
			if chosen[i] {
				continue
			}
			best[i] = max(best[i], cosine(k, g.kept[next]))
			if best[i] < farCos {
				far, farCos = i, best[i]
			}
		}
		if far < 0 {
			break
		}
		next = far
	}
	return s
}

// Embeddings returns the kept crops' embeddings at the given indices (Pick's), for a caller
// that teaches from them directly.
func (g *Gatherer) Embeddings(idx []int) ([][]float32, error) {
	out := make([][]float32, len(idx))
	for i, j := range idx {
		if j < 0 || j >= len(g.kept) {
			return nil, fmt.Errorf("live: kept crop %d of %d", j, len(g.kept))
		}
		out[i] = g.kept[j]
	}
	return out, nil
}
