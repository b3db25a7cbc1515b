// Package track follows faces across the frames of a video: it associates each frame's
// detections (box, embedding, the pack's top-k answers) with tracks, predicts a track's box
// through short gaps, and keeps each track's name as a running decision over all its crops, so
// a label does not flicker when one frame's top-1 is wrong.
//
//	tr, err := track.New(track.DefaultConfig())
//	for each frame {
//		out, err := tr.Update(timeMS, detections) // one Output per shown track
//	}
//
// Per frame it runs three stages:
//
//  1. Live tracks against detections: a cost from the IoU of the track's predicted box
//     (constant velocity) and the cosine of its recent appearance, gated by distance and
//     cosine, solved optimally (Hungarian; see assign.go for why not greedy).
//  2. Detections left over against tracks that lost their face (unseen longer than
//     Config.CoastMS, or ended within Config.ReidMS): by the cosine of the track's mean
//     embedding alone, so a face that leaves and comes back keeps its track ID and name.
//  3. Whatever is still left starts a new track, within Config.MaxTracks.
//
// The package is pure Go with no global state; a Tracker is not safe for concurrent use.
package track

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// MaxDetections bounds one frame's detections (the detector gives at most 100).
const MaxDetections = 256

// MaxEmbedding bounds an embedding's length.
const MaxEmbedding = 4096

// Errors Update returns, wrapped with the detection they concern.
var (
	ErrTime      = errors.New("track: time is not finite or goes backwards (call Reset after a seek)")
	ErrBox       = errors.New("track: box not finite or not of positive size")
	ErrScore     = errors.New("track: score or threshold not finite")
	ErrEmbedding = errors.New("track: embedding not finite, zero or of another length")
	ErrTooMany   = errors.New("track: too many detections in one frame")
)

// Box is a face box in frame pixels: top-left corner X, Y and size W, H. Its JSON form is
// [x, y, w, h], the order of the browser protocol's boxes.
type Box struct{ X, Y, W, H float64 }

// MarshalJSON writes [x, y, w, h].
func (b Box) MarshalJSON() ([]byte, error) { return json.Marshal([4]float64{b.X, b.Y, b.W, b.H}) }

// UnmarshalJSON reads [x, y, w, h].
func (b *Box) UnmarshalJSON(data []byte) error {
	var a [4]float64
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("track: box: %w", err)
	}
	*b = Box{a[0], a[1], a[2], a[3]}
	return nil
}

// IoU is the intersection over union of two boxes (0 when either is empty).
func (b Box) IoU(o Box) float64 {
	ix := math.Min(b.X+b.W, o.X+o.W) - math.Max(b.X, o.X)
	iy := math.Min(b.Y+b.H, o.Y+o.H) - math.Max(b.Y, o.Y)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (b.W*b.H + o.W*o.H - inter)
}

func (b Box) valid() bool {
	return finite(b.X) && finite(b.Y) && finite(b.W) && finite(b.H) && b.W > 0 && b.H > 0
}

// Answer is one candidate character for a crop: the pack's id and its cosine score.
type Answer struct {
	ID    string  `json:"id"`
	Score float32 `json:"score"`
}

// Detection is one face found in a frame.
type Detection struct {
	Box   Box     `json:"box"`
	Score float32 `json:"score"` // detector score in [0, 1]; weighs the crop's vote (clamped to [0.05, 1])
	// Embedding is the crop's embedding (unit length; it is normalised again here). Nil: the
	// detection is associated by position only and never re-identifies an ended track.
	Embedding []float32 `json:"embedding,omitempty"`
	Answers   []Answer  `json:"answers,omitempty"` // the pack's top-k, any order
	Threshold float32   `json:"threshold"`         // the pack's open-set threshold
}

// Output is one shown track in a frame.
type Output struct {
	TrackID uint64 `json:"trackID"` // unique within a Tracker, never reused
	Box     Box    `json:"box"`     // filtered box, or predicted when Predicted
	// Label is the decided character id, "" for unknown.
	Label string `json:"label"`
	// Score is the label's smoothed cosine score (for unknown: the smoothed best score).
	Score float32 `json:"score"`
	// Confidence is the label's share of the track's decayed votes, in [0, 1].
	Confidence float32 `json:"confidence"`
	Age        float64 `json:"age"`       // ms since the track was first seen
	Hits       int     `json:"hits"`      // crops matched to it
	Predicted  bool    `json:"predicted"` // no detection this frame: the box is the motion model's
	// Detection is the index, in this Update's detections, of the one matched to the track, -1
	// when Predicted: what a caller needs to file each crop under its track (tools/collect).
	Detection int `json:"detection"`
}

// Tracker follows faces over one video. Times are milliseconds on the video's clock.
type Tracker struct {
	cfg     Config
	nextID  uint64
	now     float64
	started bool
	dim     int      // embedding length, fixed by the first embedding until Reset
	live    []*track // being followed (tentative ones included)
	ended   []*track // lost for longer than EndMS, kept for re-identification
}

// New returns a Tracker; cfg must pass Validate (start from DefaultConfig).
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg, nextID: 1}, nil
}

// Config returns the tracker's configuration.
func (tr *Tracker) Config() Config { return tr.cfg }

// Reset forgets every track (after a seek, or a new video). Track IDs are not reused.
func (tr *Tracker) Reset() {
	tr.live, tr.ended = nil, nil
	tr.started, tr.now, tr.dim = false, 0, 0
}

// Update takes one frame's detections at time t (ms, never decreasing) and returns the tracks
// shown in it, by track ID. An invalid time or detection refuses the whole frame with an error
// naming it, and leaves the tracker as it was.
func (tr *Tracker) Update(t float64, dets []Detection) ([]Output, error) {
	in, err := tr.check(t, dets)
	if err != nil {
		return nil, err
	}
	tr.now, tr.started = t, true
	tr.expire(t)

	for _, tk := range tr.live {
		tk.matched = false
	}
	used := make([]bool, len(in))
	tr.associate(t, in, used)
	tr.reidentify(t, in, used)
	tr.start(t, in, used)

	// A tentative track that missed a frame was probably a false detection.
	tr.live = slices.DeleteFunc(tr.live, func(tk *track) bool {
		return !tk.matched && tk.hits < tr.cfg.MinHits
	})
	return tr.outputs(t, false), nil
}

// Predict returns the tracks that would be shown at time t (>= the last Update's) with their
// boxes moved by the motion model, without changing anything: for frames between detector
// runs.
func (tr *Tracker) Predict(t float64) ([]Output, error) {
	if !finite(t) || (tr.started && t < tr.now) {
		return nil, fmt.Errorf("%w: %v after %v", ErrTime, t, tr.now)
	}
	return tr.outputs(t, true), nil
}

// input is a validated detection with its embedding normalised into a copy.
type input struct {
	Detection
	emb   []float32
	index int // in the Update's detections
}

func (tr *Tracker) check(t float64, dets []Detection) ([]input, error) {
	if !finite(t) || (tr.started && t < tr.now) {
		return nil, fmt.Errorf("%w: %v after %v", ErrTime, t, tr.now)
	}
	if len(dets) > MaxDetections {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, len(dets), MaxDetections)
	}
	in := make([]input, len(dets))
	dim := tr.dim
	for i, d := range dets {
		if !d.Box.valid() {
			return nil, fmt.Errorf("detection %d: %w: %+v", i, ErrBox, d.Box)
		}
		if !finite(float64(d.Score)) || !finite(float64(d.Threshold)) {
			return nil, fmt.Errorf("detection %d: %w: score %v, threshold %v", i, ErrScore, d.Score, d.Threshold)
		}
		for _, a := range d.Answers {
			if !finite(float64(a.Score)) {
				return nil, fmt.Errorf("detection %d: %w: answer %q score %v", i, ErrScore, a.ID, a.Score)
			}
		}
		in[i].Detection, in[i].index = d, i
		if d.Embedding == nil {
			continue
		}
		if len(d.Embedding) == 0 || len(d.Embedding) > MaxEmbedding || (dim != 0 && len(d.Embedding) != dim) {
			return nil, fmt.Errorf("detection %d: %w: length %d, tracker's %d", i, ErrEmbedding, len(d.Embedding), dim)
		}
		e, ok := unit(d.Embedding)
		if !ok {
			return nil, fmt.Errorf("detection %d: %w", i, ErrEmbedding)
		}
		dim, in[i].emb = len(e), e
	}
	tr.dim = dim
	return in, nil
}

// expire ends tracks unseen for longer than EndMS and forgets ended ones older than ReidMS.
func (tr *Tracker) expire(t float64) {
	tr.live = slices.DeleteFunc(tr.live, func(tk *track) bool {
		if t-tk.seen <= tr.cfg.EndMS {
			return false
		}
		tr.end(tk)
		return true
	})
	tr.ended = slices.DeleteFunc(tr.ended, func(tk *track) bool { return t-tk.seen > tr.cfg.ReidMS })
}

// end moves a confirmed track to the ended list (bounded by MaxTracks, the oldest dropped).
func (tr *Tracker) end(tk *track) {
	if tk.hits < tr.cfg.MinHits || tk.sum == nil {
		return // never shown, or nothing to re-identify it by
	}
	tr.ended = append(tr.ended, tk)
	if len(tr.ended) > tr.cfg.MaxTracks {
		oldest := 0
		for i, e := range tr.ended {
			if e.seen < tr.ended[oldest].seen {
				oldest = i
			}
		}
		tr.ended = slices.Delete(tr.ended, oldest, oldest+1)
	}
}

// associate is stage 1: live tracks against detections by IoU and appearance.
func (tr *Tracker) associate(t float64, in []input, used []bool) {
	n, m := len(tr.live), len(in)
	if n == 0 || m == 0 {
		return
	}
	c := &tr.cfg
	cost := make([]float64, n*m)
	for i, tk := range tr.live {
		p := tk.predict(t, c.MaxPredictMS)
		side := math.Sqrt(p.W * p.H)
		pcx, pcy := p.X+p.W/2, p.Y+p.H/2
		for j, d := range in {
			cost[i*m+j] = forbidden
			dcx, dcy := d.Box.X+d.Box.W/2, d.Box.Y+d.Box.H/2
			if math.Hypot(dcx-pcx, dcy-pcy) > c.MaxJump*side {
				continue
			}
			sim := p.IoU(d.Box)
			if tk.app != nil && d.emb != nil {
				cos := dot(tk.app, d.emb)
				if cos < c.MinCosine {
					continue
				}
				// Rescaled so the narrow range of cosines above the gate spans [0, 1].
				a := (cos - c.MinCosine) / (1 - c.MinCosine)
				sim = c.IoUWeight*sim + (1-c.IoUWeight)*a
			}
			cost[i*m+j] = 1 - sim
		}
	}
	for i, j := range assign(cost, n, m) {
		if j < 0 || cost[i*m+j] >= forbidden {
			continue
		}
		tr.live[i].observe(t, in[j], c)
		used[j] = true
	}
}

// reidentify is stage 2: left-over detections against lost and ended tracks by mean embedding.
func (tr *Tracker) reidentify(t float64, in []input, used []bool) {
	var cands []*track
	for _, tk := range tr.live {
		if !tk.matched && tk.sum != nil && t-tk.seen > tr.cfg.CoastMS {
			cands = append(cands, tk)
		}
	}
	cands = append(cands, tr.ended...)
	var dets []int
	for j, d := range in {
		if !used[j] && d.emb != nil {
			dets = append(dets, j)
		}
	}
	n, m := len(cands), len(dets)
	if n == 0 || m == 0 {
		return
	}
	cost := make([]float64, n*m)
	for i, tk := range cands {
		mean := mean(tk.sum)
		for k, j := range dets {
			cos := dot(mean, in[j].emb)
			cost[i*m+k] = forbidden
			if cos >= tr.cfg.ReidCosine {
				cost[i*m+k] = 1 - cos
			}
		}
	}
	for i, k := range assign(cost, n, m) {
		if k < 0 || cost[i*m+k] >= forbidden {
			continue
		}
		tk, j := cands[i], dets[k]
		// Membership is decided by live, not ended: an earlier revival in this loop may have
		// ended a live track through makeRoom and so dropped tk from ended, leaving it in
		// neither list; it must still come back live, or its face would vanish from the frame.
		if !slices.Contains(tr.live, tk) {
			if !tr.makeRoom() {
				continue
			}
			if idx := slices.Index(tr.ended, tk); idx >= 0 {
				tr.ended = slices.Delete(tr.ended, idx, idx+1)
			}
			tr.live = append(tr.live, tk)
		}
		tk.revive(t, in[j], &tr.cfg)
		used[j] = true
	}
}

// start is stage 3: new tracks for the detections left, best score first, within MaxTracks.
func (tr *Tracker) start(t float64, in []input, used []bool) {
	var left []int
	for j := range in {
		if !used[j] {
			left = append(left, j)
		}
	}
	slices.SortStableFunc(left, func(a, b int) int { return cmp.Compare(in[b].Score, in[a].Score) })
	for _, j := range left {
		if !tr.makeRoom() {
			return
		}
		tk := &track{id: tr.nextID, born: t}
		tr.nextID++
		tk.revive(t, in[j], &tr.cfg)
		tr.live = append(tr.live, tk)
	}
}

// makeRoom makes sure one more live track fits under MaxTracks, evicting the track unseen the
// longest (ties: fewest crops) among those not matched this frame. False: all are matched.
func (tr *Tracker) makeRoom() bool {
	if len(tr.live) < tr.cfg.MaxTracks {
		return true
	}
	victim := -1
	for i, tk := range tr.live {
		if tk.matched {
			continue
		}
		if victim < 0 || tk.seen < tr.live[victim].seen ||
			(tk.seen == tr.live[victim].seen && tk.hits < tr.live[victim].hits) {
			victim = i
		}
	}
	if victim < 0 {
		return false
	}
	tr.end(tr.live[victim])
	tr.live = slices.Delete(tr.live, victim, victim+1)
	return true
}

// outputs lists the shown tracks at t; predictAll: as if none had been matched at t (Predict).
func (tr *Tracker) outputs(t float64, predictAll bool) []Output {
	out := []Output{}
	for _, tk := range tr.live {
		matched := tk.matched && !predictAll
		if tk.hits < tr.cfg.MinHits || (!matched && t-tk.seen > tr.cfg.CoastMS) {
			continue
		}
		o := Output{
			TrackID: tk.id, Box: tk.box(), Age: t - tk.born, Hits: tk.hits,
			Label: tk.votes.label, Score: float32(tk.votes.score()), Confidence: float32(tk.votes.confidence()),
			Detection: tk.det,
		}
		if !matched {
			o.Box, o.Predicted, o.Detection = tk.predict(t, tr.cfg.MaxPredictMS), true, -1
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Output) int { return cmp.Compare(a.TrackID, b.TrackID) })
	return out
}

// track is one followed face.
type track struct {
	id         uint64
	born, seen float64 // first and last seen, ms
	hits       int
	matched    bool // in this Update
	det        int  // the detection index it was matched to in the last Update that matched it

	// Motion: an alpha-beta filter on the centre (constant velocity), smoothing on the size.
	cx, cy, w, h float64
	vx, vy       float64 // px per ms
	moving       bool    // vx, vy come from two sightings

	app []float32 // recent appearance: an EMA of the unit embeddings, unit length
	sum []float64 // sum of all unit embeddings: the mean direction, for re-identification

	votes identity
}

func (tk *track) box() Box { return Box{tk.cx - tk.w/2, tk.cy - tk.h/2, tk.w, tk.h} }

// predict is the box at time t by constant velocity, extrapolated at most maxMS.
func (tk *track) predict(t, maxMS float64) Box {
	dt := math.Min(t-tk.seen, maxMS)
	return Box{tk.cx + tk.vx*dt - tk.w/2, tk.cy + tk.vy*dt - tk.h/2, tk.w, tk.h}
}

// observe updates a track with the detection associated to it in stage 1.
func (tk *track) observe(t float64, d input, c *Config) {
	dt := t - tk.seen
	p := tk.predict(t, c.MaxPredictMS)
	pcx, pcy := p.X+p.W/2, p.Y+p.H/2
	zcx, zcy := d.Box.X+d.Box.W/2, d.Box.Y+d.Box.H/2
	rx, ry := zcx-pcx, zcy-pcy
	if dt > 0 {
		if !tk.moving {
			// The first sighting after a (re)start gives the velocity outright.
			tk.vx, tk.vy = (zcx-tk.cx)/dt, (zcy-tk.cy)/dt
		} else {
			tk.vx += c.VelocityBeta * rx / dt
			tk.vy += c.VelocityBeta * ry / dt
		}
	}
	if tk.moving {
		tk.cx, tk.cy = pcx+c.PositionAlpha*rx, pcy+c.PositionAlpha*ry
	} else {
		tk.cx, tk.cy = zcx, zcy // nothing to smooth against yet
	}
	tk.moving = tk.moving || dt > 0
	tk.w += c.SizeAlpha * (d.Box.W - tk.w)
	tk.h += c.SizeAlpha * (d.Box.H - tk.h)
	tk.sighted(t, d, c)
	if tk.app != nil && d.emb != nil {
		for i := range tk.app {
			tk.app[i] = float32(c.AppearanceKeep)*tk.app[i] + float32(1-c.AppearanceKeep)*d.emb[i]
		}
		normalize(tk.app)
	} else if d.emb != nil {
		tk.app = slices.Clone(d.emb)
	}
}

// revive places a track on a detection with no motion history: a new track, or one
// re-identified after its face was lost.
func (tk *track) revive(t float64, d input, c *Config) {
	tk.cx, tk.cy = d.Box.X+d.Box.W/2, d.Box.Y+d.Box.H/2
	tk.w, tk.h = d.Box.W, d.Box.H
	tk.vx, tk.vy = 0, 0
	if d.emb != nil {
		tk.app = slices.Clone(d.emb)
	}
	tk.moving = false // the next sighting gives the velocity outright
	tk.sighted(t, d, c)
}

// sighted records what every match shares: time, count, mean embedding, the vote.
func (tk *track) sighted(t float64, d input, c *Config) {
	tk.seen, tk.matched, tk.det = t, true, d.index
	tk.hits++
	if d.emb != nil {
		if tk.sum == nil {
			tk.sum = make([]float64, len(d.emb))
		}
		for i, v := range d.emb {
			tk.sum[i] += float64(v)
		}
	}
	tk.votes.observe(d.Detection, c)
}

const forbidden = 1e6 // the cost of a pair a gate refuses

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// dot is the inner product of two equal-length vectors. Four float32 accumulators and no
// conversions: as js/wasm this loop is most of a frame's work (a generic float64 version was
// 20x slower there than natively).
func dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64((s0 + s1) + (s2 + s3))
}

// unit returns v scaled to unit length, in a new slice; false when v is zero or not finite.
func unit(v []float32) ([]float32, bool) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if !finite(s) || s == 0 {
		return nil, false
	}
	inv := 1 / math.Sqrt(s)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, true
}

// normalize scales v to unit length in place (v is a blend of unit vectors, never zero in
// practice; a zero v stays zero).
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s > 0 {
		inv := float32(1 / math.Sqrt(s))
		for i := range v {
			v[i] *= inv
		}
	}
}

// mean is the unit direction of a sum of unit vectors, as float32.
func mean(sum []float64) []float32 {
	v := make([]float32, len(sum))
	for i, x := range sum {
		v[i] = float32(x)
	}
	normalize(v)
	return v
}
