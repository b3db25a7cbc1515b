package track

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const frameMS = 40 // 25 fps

// world makes synthetic characters: embeddings in a narrow cone like the shipped embedder's
// (unrelated characters at cosine ~0.65, crops of one character at ~0.98) and pack answers.
type world struct {
	dim    int
	common []float64
	chars  map[string][]float64
	rng    *rand.Rand
}

func newWorld(seed uint64) *world {
	w := &world{dim: 32, chars: map[string][]float64{}, rng: rand.New(rand.NewPCG(seed, 7))}
	w.common = w.randUnit()
	return w
}

func (w *world) randUnit() []float64 {
	v := make([]float64, w.dim)
	var s float64
	for i := range v {
		v[i] = w.rng.NormFloat64()
		s += v[i] * v[i]
	}
	for i := range v {
		v[i] /= math.Sqrt(s)
	}
	return v
}

// embed is a crop of character id: common direction, the character's own, a little noise.
func (w *world) embed(id string) []float32 {
	c, ok := w.chars[id]
	if !ok {
		c = w.randUnit()
		w.chars[id] = c
	}
	n := w.randUnit()
	e := make([]float32, w.dim)
	for i := range e {
		e[i] = float32(0.8*w.common[i] + 0.6*c[i] + 0.1*n[i])
	}
	return e
}

// face is a detection of character id at box b whose pack answers put top first.
func (w *world) face(id string, b Box, top string) Detection {
	answers := []Answer{{top, 0.82}, {"x1", 0.78}, {"x2", 0.76}}
	if top != id {
		answers = append(answers, Answer{id, 0.79})
	} else {
		answers = append(answers, Answer{"x3", 0.77})
	}
	return Detection{Box: b, Score: 0.9, Embedding: w.embed(id), Answers: answers, Threshold: 0.75}
}

func mustNew(t testing.TB, cfg Config) *Tracker {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mustUpdate(t testing.TB, tr *Tracker, ms float64, dets []Detection) []Output {
	t.Helper()
	out, err := tr.Update(ms, dets)
	if err != nil {
		t.Fatalf("Update(%v): %v", ms, err)
	}
	return out
}

// nearest is the output overlapping b most (IoU > 0.3), or false.
func nearest(out []Output, b Box) (Output, bool) {
	best, bestIoU := Output{}, 0.3
	for _, o := range out {
		if iou := o.Box.IoU(b); iou > bestIoU {
			best, bestIoU = o, iou
		}
	}
	return best, bestIoU > 0.3
}

func TestCrossingKeepsIDs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		embeddings bool
		hideBehind bool // the detector sees only the front face while they overlap
		dy         float64
	}{
		{"both seen", true, false, 0},
		{"back face hidden", true, true, 0},
		{"offset paths", true, false, 30},
		{"no embeddings", false, false, 0},
		{"no embeddings, back face hidden", false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(1)
			tr := mustNew(t, DefaultConfig())
			ids := map[string]map[uint64]int{"a": {}, "b": {}}
			labels := map[string]map[string]int{"a": {}, "b": {}}
			for f := range 60 {
				a := Box{40 + 8*float64(f), 200, 80, 80}
				b := Box{520 - 8*float64(f), 200 + tc.dy, 80, 80}
				var dets []Detection
				dets = append(dets, w.face("a", a, "a"))
				overlap := a.IoU(b) > 0.2
				if !(tc.hideBehind && overlap) {
					dets = append(dets, w.face("b", b, "b"))
				}
				if !tc.embeddings {
					for i := range dets {
						dets[i].Embedding = nil
					}
				}
				out := mustUpdate(t, tr, float64(f*frameMS), dets)
				if f < 2 || overlap {
					continue // not shown yet (MinHits); or no telling which box is which
				}
				for name, gt := range map[string]Box{"a": a, "b": b} {
					o, ok := nearest(out, gt)
					if !ok {
						t.Fatalf("frame %d: no track on %s at %+v: %+v", f, name, gt, out)
					}
					ids[name][o.TrackID]++
					labels[name][o.Label]++
				}
			}
			for _, name := range []string{"a", "b"} {
				if len(ids[name]) != 1 || len(labels[name]) != 1 || labels[name][name] == 0 {
					t.Errorf("%s: track IDs %v, labels %v; want one ID, label %q", name, ids[name], labels[name], name)
				}
			}
			for id := range ids["a"] {
				if ids["b"][id] > 0 {
					t.Errorf("a and b share track %d", id)
				}
			}
		})
	}
}

func TestOcclusionReacquired(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vx, vy float64 // px per frame
		hidden int     // frames without a detection
	}{
		{"still", 0, 0, 10},
		{"moving", 6, 0, 10},
		{"diagonal", 4, 3, 10},
		{"moving, 20 frames", 3, 0, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(2)
			tr := mustNew(t, DefaultConfig())
			var id uint64
			var label string
			for f := range 60 {
				b := Box{100 + tc.vx*float64(f), 100 + tc.vy*float64(f), 80, 80}
				var dets []Detection
				hidden := f >= 20 && f < 20+tc.hidden
				if !hidden {
					dets = append(dets, w.face("a", b, "a"))
				}
				out := mustUpdate(t, tr, float64(f*frameMS), dets)
				switch {
				case f == 19:
					if len(out) != 1 {
						t.Fatalf("frame %d: %+v", f, out)
					}
					id, label = out[0].TrackID, out[0].Label
				case hidden:
					// Shown at the predicted box while coasting, then not at all.
					if coast := float64(f-19) * frameMS; coast <= tr.cfg.CoastMS {
						if len(out) != 1 || !out[0].Predicted || out[0].Box.IoU(b) < 0.5 {
							t.Fatalf("frame %d (coasting): %+v, face at %+v", f, out, b)
						}
					} else if len(out) != 0 {
						t.Fatalf("frame %d (lost): %+v", f, out)
					}
				case f > 20:
					if len(out) != 1 || out[0].TrackID != id || out[0].Label != label || out[0].Predicted {
						t.Fatalf("frame %d: %+v, want track %d %q", f, out, id, label)
					}
				}
			}
			if label != "a" {
				t.Errorf("label %q, want a", label)
			}
		})
	}
}

func TestNoisyTop1StableLabel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wrong    float64 // fraction of frames whose top-1 is wrong
		rotating bool    // the wrong top-1 is one of three distractors, else always the same one
		every    int     // the detector runs every k-th frame
	}{
		{"30% one distractor", 0.3, false, 1},
		{"30% rotating distractors", 0.3, true, 1},
		{"30% every 3rd frame", 0.3, false, 3},
		{"40% rotating", 0.4, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				w := newWorld(seed)
				noise := rand.New(rand.NewPCG(seed, 99))
				tr := mustNew(t, DefaultConfig())
				var shown []string
				for f := 0; f < 300; f += tc.every {
					top := "a"
					if noise.Float64() < tc.wrong {
						top = "b"
						if tc.rotating {
							top = []string{"b", "c", "d"}[noise.IntN(3)]
						}
					}
					jitter := func() float64 { return 3 * noise.NormFloat64() }
					b := Box{200 + jitter(), 150 + jitter(), 90 + jitter(), 90 + jitter()}
					out := mustUpdate(t, tr, float64(f*frameMS), []Detection{w.face("a", b, top)})
					if len(out) > 1 {
						t.Fatalf("seed %d frame %d: %d tracks: %+v", seed, f, len(out), out)
					}
					if len(out) == 1 {
						shown = append(shown, out[0].Label)
					}
				}
				switches := 0
				for i := 1; i < len(shown); i++ {
					if shown[i] != shown[i-1] {
						switches++
					}
				}
				if switches > 1 || shown[len(shown)-1] != "a" || len(shown) < 300/tc.every-2 {
					t.Errorf("seed %d: %d label switches, last %q, %d frames shown: %s", seed, switches, shown[len(shown)-1], len(shown), strings.Join(shown, ""))
				}
			}
		})
	}
}

func TestLeaveAndReturn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		goneMS  float64
		sameID  bool
		farSide bool // comes back at the other side of the frame
	}{
		{"1 s, same place", 1000, true, false},
		{"1 s, far side", 1000, true, true},
		{"2.9 s, far side", 2900, true, true},
		{"3 s, same place", 3000, true, false},
		{"10 s", 10000, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(3)
			tr := mustNew(t, DefaultConfig())
			at := Box{100, 100, 80, 80}
			var before Output
			ms := 0.0
			for range 50 {
				out := mustUpdate(t, tr, ms, []Detection{w.face("a", at, "a")})
				if len(out) == 1 {
					before = out[0]
				}
				ms += frameMS
			}
			// Gone: empty frames, as the detector would give.
			end := ms + tc.goneMS
			for ; ms < end; ms += frameMS {
				mustUpdate(t, tr, ms, nil)
			}
			if tc.farSide {
				at = Box{500, 300, 80, 80}
			}
			var after []Output
			for range 5 {
				after = mustUpdate(t, tr, ms, []Detection{w.face("a", at, "a")})
				ms += frameMS
			}
			if len(after) != 1 {
				t.Fatalf("after: %+v", after)
			}
			if got := after[0].TrackID == before.TrackID; got != tc.sameID {
				t.Errorf("track %d before, %d after; same ID %v, want %v", before.TrackID, after[0].TrackID, got, tc.sameID)
			}
			if after[0].Label != "a" {
				t.Errorf("label %q after, want a", after[0].Label)
			}
			if tc.sameID && after[0].Hits < 55 {
				t.Errorf("hits %d: the votes were not kept", after[0].Hits)
			}
		})
	}
}

func TestReturnDoesNotStealAnotherCharacter(t *testing.T) {
	w := newWorld(4)
	tr := mustNew(t, DefaultConfig())
	ms := 0.0
	var aID uint64
	for range 30 {
		if out := mustUpdate(t, tr, ms, []Detection{w.face("a", Box{100, 100, 80, 80}, "a")}); len(out) == 1 {
			aID = out[0].TrackID
		}
		ms += frameMS
	}
	for range 50 {
		mustUpdate(t, tr, ms, nil)
		ms += frameMS
	}
	var out []Output
	for range 5 {
		out = mustUpdate(t, tr, ms, []Detection{w.face("b", Box{400, 100, 80, 80}, "b")})
		ms += frameMS
	}
	if len(out) != 1 || out[0].TrackID == aID || out[0].Label != "b" {
		t.Errorf("b after a left: %+v (a was track %d)", out, aID)
	}
}

func TestTrackCap(t *testing.T) {
	for _, cap := range []int{1, 4, 16} {
		t.Run(fmt.Sprint(cap), func(t *testing.T) {
			w := newWorld(5)
			cfg := DefaultConfig()
			cfg.MaxTracks = cap
			tr := mustNew(t, cfg)
			ms := 0.0
			seen := map[uint64]bool{}
			// Waves of 30 faces: each wave replaces the last, so evictions happen both among
			// tracks matched this frame (refused) and unmatched ones (evicted).
			for wave := range 4 {
				for range 10 {
					var dets []Detection
					for k := range 30 {
						id := fmt.Sprintf("w%dk%d", wave, k)
						b := Box{float64(k%6) * 150, float64(k/6) * 150, 60, 60}
						if wave%2 == 1 {
							b.X += 75
						}
						d := w.face(id, b, id)
						d.Score = 0.5 + float32(k)/100
						dets = append(dets, d)
					}
					out := mustUpdate(t, tr, ms, dets)
					ms += frameMS
					if len(out) > cap || len(tr.live) > cap || len(tr.ended) > cap {
						t.Fatalf("wave %d: %d shown, %d live, %d ended; cap %d", wave, len(out), len(tr.live), len(tr.ended), cap)
					}
					for _, o := range out {
						seen[o.TrackID] = true
					}
				}
			}
			if len(seen) < cap {
				t.Errorf("%d tracks ever shown, want >= %d", len(seen), cap)
			}
		})
	}
}

func TestEmptyFrames(t *testing.T) {
	tr := mustNew(t, DefaultConfig())
	for f := range 5 {
		out := mustUpdate(t, tr, float64(f*frameMS), nil)
		if out == nil || len(out) != 0 {
			t.Fatalf("empty frame %d: %#v, want an empty non-nil slice", f, out)
		}
	}
	if js, _ := json.Marshal(mustUpdate(t, tr, 1000, []Detection{})); string(js) != "[]" {
		t.Errorf("JSON of no tracks: %s", js)
	}
	// A track coasts through empty frames and ends.
	w := newWorld(6)
	for f := range 5 {
		mustUpdate(t, tr, 2000+float64(f*frameMS), []Detection{w.face("a", Box{10, 10, 50, 50}, "a")})
	}
	if out := mustUpdate(t, tr, 2400, nil); len(out) != 1 || !out[0].Predicted {
		t.Errorf("coasting: %+v", out)
	}
	if out := mustUpdate(t, tr, 3000, nil); len(out) != 0 {
		t.Errorf("after CoastMS: %+v", out)
	}
	mustUpdate(t, tr, 10000, nil)
	if len(tr.live) != 0 || len(tr.ended) != 0 {
		t.Errorf("after ReidMS: %d live, %d ended", len(tr.live), len(tr.ended))
	}
}

func TestRefusesBadInput(t *testing.T) {
	w := newWorld(7)
	good := func() Detection { return w.face("a", Box{10, 10, 50, 50}, "a") }
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name string
		ms   float64
		edit func(*Detection)
		want error
	}{
		{"NaN x", 100, func(d *Detection) { d.Box.X = nan }, ErrBox},
		{"Inf y", 100, func(d *Detection) { d.Box.Y = -inf }, ErrBox},
		{"Inf width", 100, func(d *Detection) { d.Box.W = inf }, ErrBox},
		{"negative width", 100, func(d *Detection) { d.Box.W = -5 }, ErrBox},
		{"zero height", 100, func(d *Detection) { d.Box.H = 0 }, ErrBox},
		{"NaN score", 100, func(d *Detection) { d.Score = float32(nan) }, ErrScore},
		{"Inf threshold", 100, func(d *Detection) { d.Threshold = float32(inf) }, ErrScore},
		{"NaN answer", 100, func(d *Detection) { d.Answers[1].Score = float32(nan) }, ErrScore},
		{"NaN embedding", 100, func(d *Detection) { d.Embedding[3] = float32(nan) }, ErrEmbedding},
		{"zero embedding", 100, func(d *Detection) { clear(d.Embedding) }, ErrEmbedding},
		{"empty embedding", 100, func(d *Detection) { d.Embedding = []float32{} }, ErrEmbedding},
		{"other length", 100, func(d *Detection) { d.Embedding = d.Embedding[:8] }, ErrEmbedding},
		{"NaN time", nan, nil, ErrTime},
		{"Inf time", inf, nil, ErrTime},
		{"time backwards", 10, nil, ErrTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustNew(t, DefaultConfig())
			mustUpdate(t, tr, 40, []Detection{good()})
			first := mustUpdate(t, tr, 80, []Detection{good()})
			d := good()
			if tc.edit != nil {
				tc.edit(&d)
			}
			if _, err := tr.Update(tc.ms, []Detection{good(), d}); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			} else if tc.edit != nil && !strings.Contains(err.Error(), "detection 1") {
				t.Errorf("err %q does not name the detection", err)
			}
			// Refused whole: the next frame goes on from the last good one.
			next := mustUpdate(t, tr, 120, []Detection{good()})
			if len(next) != 1 || next[0].TrackID != first[0].TrackID || next[0].Hits != 3 {
				t.Errorf("after the refused frame: %+v, before %+v", next, first)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		tr := mustNew(t, DefaultConfig())
		if _, err := tr.Update(0, make([]Detection, MaxDetections+1)); !errors.Is(err, ErrTooMany) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("Predict backwards", func(t *testing.T) {
		tr := mustNew(t, DefaultConfig())
		mustUpdate(t, tr, 100, nil)
		if _, err := tr.Predict(50); !errors.Is(err, ErrTime) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("negative x is a face entering at the edge", func(t *testing.T) {
		tr := mustNew(t, DefaultConfig())
		d := good()
		d.Box.X = -20
		mustUpdate(t, tr, 0, []Detection{d})
	})
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, edit := range []func(*Config){
		func(c *Config) { c.MaxTracks = 0 },
		func(c *Config) { c.MinHits = 0 },
		func(c *Config) { c.CoastMS = math.NaN() },
		func(c *Config) { c.EndMS = c.CoastMS - 1 },
		func(c *Config) { c.ReidMS = -1 },
		func(c *Config) { c.MinCosine = 1 },
		func(c *Config) { c.IoUWeight = 1.5 },
		func(c *Config) { c.VoteDecay = 1 },
		func(c *Config) { c.VoteDecay = 0 },
		func(c *Config) { c.Temperature = 0 },
		func(c *Config) { c.SwitchFrames = 0 },
		func(c *Config) { c.PositionAlpha = math.Inf(1) },
	} {
		c := DefaultConfig()
		edit(&c)
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v", c, err)
		}
	}
}

func TestPredictChangesNothing(t *testing.T) {
	w := newWorld(8)
	tr := mustNew(t, DefaultConfig())
	var out []Output
	for f := range 10 {
		out = mustUpdate(t, tr, float64(f*frameMS), []Detection{w.face("a", Box{100 + 10*float64(f), 100, 80, 80}, "a")})
	}
	p, err := tr.Predict(9*frameMS + 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || !p[0].Predicted || math.Abs(p[0].Box.X-(out[0].Box.X+5)) > 1 {
		t.Errorf("Predict half a frame on: %+v, last %+v", p, out)
	}
	again, _ := tr.Predict(9*frameMS + 20)
	if fmt.Sprint(again) != fmt.Sprint(p) {
		t.Errorf("Predict twice: %+v then %+v", p, again)
	}
	next := mustUpdate(t, tr, 10*frameMS, []Detection{w.face("a", Box{200, 100, 80, 80}, "a")})
	if len(next) != 1 || next[0].TrackID != out[0].TrackID || next[0].Predicted {
		t.Errorf("after Predict: %+v", next)
	}
}

func TestUnknownLabel(t *testing.T) {
	w := newWorld(9)
	tr := mustNew(t, DefaultConfig())
	var out []Output
	for f := range 10 {
		d := w.face("a", Box{100, 100, 80, 80}, "a")
		d.Threshold = 0.9 // every answer below it
		out = mustUpdate(t, tr, float64(f*frameMS), []Detection{d})
	}
	if len(out) != 1 || out[0].Label != "" || out[0].Confidence < 0.9 {
		t.Errorf("below the threshold: %+v, want label \"\"", out)
	}
	// No answers at all (no pack) is unknown too.
	tr.Reset()
	for f := range 3 {
		d := w.face("a", Box{100, 100, 80, 80}, "a")
		d.Answers = nil
		out = mustUpdate(t, tr, float64(f*frameMS), []Detection{d})
	}
	if len(out) != 1 || out[0].Label != "" {
		t.Errorf("no answers: %+v", out)
	}
}

func TestJSON(t *testing.T) {
	var d Detection
	if err := json.Unmarshal([]byte(`{"box":[1,2,30,40],"score":0.9,"answers":[{"id":"a","score":0.8}],"threshold":0.75}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Box != (Box{1, 2, 30, 40}) || d.Answers[0].ID != "a" {
		t.Errorf("decoded %+v", d)
	}
	if err := json.Unmarshal([]byte(`{"box":{"x":1}}`), &d); err == nil {
		t.Error("box as an object accepted")
	}
	js, err := json.Marshal(Output{TrackID: 3, Box: Box{1, 2, 3, 4}, Label: "a", Score: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"trackID":3,"box":[1,2,3,4],"label":"a","score":0.5,"confidence":0,"age":0,"hits":0,"predicted":false,"detection":0}`; string(js) != want {
		t.Errorf("got  %s\nwant %s", js, want)
	}
}

// TestOutputDetection: each matched output names the detection it took, whatever the order of
// the frame's detections; a predicted one names none.
func TestOutputDetection(t *testing.T) {
	w := newWorld(3)
	tr := mustNew(t, DefaultConfig())
	rng := rand.New(rand.NewPCG(5, 5))
	owner := map[uint64]string{}
	for f := range 40 {
		names := []string{"a", "b", "c"}
		if f >= 30 {
			names = names[:2] // c leaves: its track coasts, predicted
		}
		var dets []Detection
		for i, n := range names {
			dets = append(dets, w.face(n, Box{50 + 200*float64(i) + 2*float64(f), 100, 60, 60}, n))
		}
		rng.Shuffle(len(dets), func(i, j int) { dets[i], dets[j] = dets[j], dets[i]; names[i], names[j] = names[j], names[i] })
		for _, o := range mustUpdate(t, tr, float64(f*frameMS), dets) {
			if o.Predicted {
				if o.Detection != -1 {
					t.Fatalf("frame %d: predicted track %d names detection %d", f, o.TrackID, o.Detection)
				}
				continue
			}
			if o.Detection < 0 || o.Detection >= len(dets) {
				t.Fatalf("frame %d: track %d: detection %d of %d", f, o.TrackID, o.Detection, len(dets))
			}
			n := names[o.Detection]
			if had, ok := owner[o.TrackID]; ok && had != n {
				t.Fatalf("frame %d: track %d took %s's detection, earlier %s's", f, o.TrackID, n, had)
			}
			owner[o.TrackID] = n
		}
	}
	if len(owner) != 3 {
		t.Errorf("tracks %v, want one for each of a, b, c", owner)
	}
}

func TestAssignIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n, m := 1+rng.IntN(5), 1+rng.IntN(5)
		cost := make([]float64, n*m)
		for i := range cost {
			cost[i] = rng.Float64()
			if rng.IntN(4) == 0 {
				cost[i] = forbidden
			}
		}
		got := assign(cost, n, m)
		total, cols := 0.0, map[int]bool{}
		for i, j := range got {
			if j < 0 {
				continue
			}
			if cols[j] {
				t.Fatalf("column %d twice: %v", j, got)
			}
			cols[j] = true
			total += cost[i*m+j]
		}
		if len(cols) != min(n, m) {
			t.Fatalf("%dx%d: %d pairs: %v", n, m, len(cols), got)
		}
		if best := brute(cost, n, m, 0, make([]bool, m)); math.Abs(total-best) > 1e-6 {
			t.Fatalf("%dx%d %v: total %v, optimum %v", n, m, cost, total, best)
		}
	}
}

// brute is the optimal total over rows i.. by trying every column (rows may stay out when n > m).
func brute(cost []float64, n, m, i int, used []bool) float64 {
	if i == n {
		return 0
	}
	free := 0
	for _, u := range used {
		if !u {
			free++
		}
	}
	best := math.Inf(1)
	if n-i > free { // this row may be left out
		best = brute(cost, n, m, i+1, used)
	}
	for j := range m {
		if !used[j] {
			used[j] = true
			best = math.Min(best, cost[i*m+j]+brute(cost, n, m, i+1, used))
			used[j] = false
		}
	}
	return best
}

// Two look-alike faces side by side and a sudden pan: the right face's old place is nearer the
// left face's new detection than the left face's own old place is. A greedy pick gives that
// detection to the right track and leaves the left one without a match (the other detection is
// out of its reach); the optimal assignment keeps both.
func TestPanKeepsNeighbours(t *testing.T) {
	for _, embeddings := range []bool{false, true} {
		t.Run(fmt.Sprint("embeddings ", embeddings), func(t *testing.T) {
			w := newWorld(10)
			tr := mustNew(t, DefaultConfig())
			frame := func(f int, shift float64) []Output {
				var dets []Detection
				for _, x := range []float64{100, 190} {
					d := w.face("twin", Box{x + shift, 100, 80, 80}, "twin")
					if !embeddings {
						d.Embedding = nil
					}
					dets = append(dets, d)
				}
				return mustUpdate(t, tr, float64(f*frameMS), dets)
			}
			var before []Output
			for f := range 5 {
				before = frame(f, 0)
			}
			after := frame(5, 50)
			if len(before) != 2 || len(after) != 2 || after[0].TrackID != before[0].TrackID || after[1].TrackID != before[1].TrackID ||
				after[0].Predicted || after[1].Predicted || after[0].Box.X > after[1].Box.X {
				t.Errorf("before the pan %+v\nafter %+v", before, after)
			}
		})
	}
}

// Random sequences (faces appearing, moving, vanishing, gaps in time, frames without
// embeddings or answers): no panic, the cap holds, each frame's outputs are distinct tracks by
// ID, no track held twice, boxes finite and positive, confidences in [0, 1]. (It found a
// revival that deleted the wrong ended track once the eviction it needed had shifted the list.)
func TestRandomSequencesInvariants(t *testing.T) {
	for seed := range uint64(20) {
		w := newWorld(100 + seed)
		rng := rand.New(rand.NewPCG(seed, 3))
		cfg := DefaultConfig()
		cfg.MaxTracks = 1 + rng.IntN(8)
		tr := mustNew(t, cfg)
		ms := 0.0
		for f := range 400 {
			ms += float64(rng.IntN(200))
			var dets []Detection
			for k := range rng.IntN(12) {
				id := fmt.Sprint("c", rng.IntN(6))
				x := float64(k*60) + 30*math.Sin(float64(f)/10+float64(k))
				d := w.face(id, Box{x, rng.Float64() * 200, 20 + rng.Float64()*80, 20 + rng.Float64()*80}, id)
				switch rng.IntN(6) {
				case 0:
					d.Embedding = nil
				case 1:
					d.Answers = nil
				case 2:
					d.Score = -1
				}
				dets = append(dets, d)
			}
			out, err := tr.Update(ms, dets)
			if err != nil {
				t.Fatalf("seed %d frame %d: %v", seed, f, err)
			}
			if len(out) > cfg.MaxTracks || len(tr.live) > cfg.MaxTracks || len(tr.ended) > cfg.MaxTracks {
				t.Fatalf("seed %d frame %d: %d shown, %d live, %d ended, cap %d", seed, f, len(out), len(tr.live), len(tr.ended), cfg.MaxTracks)
			}
			held := map[*track]bool{} // a track is live or ended, once
			for _, tk := range append(slices.Clone(tr.live), tr.ended...) {
				if held[tk] {
					t.Fatalf("seed %d frame %d: track %d held twice", seed, f, tk.id)
				}
				held[tk] = true
			}
			for i, o := range out {
				if i > 0 && o.TrackID <= out[i-1].TrackID {
					t.Fatalf("seed %d frame %d: IDs not increasing: %+v", seed, f, out)
				}
				if !o.Box.valid() || o.Confidence < 0 || o.Confidence > 1.0001 || math.IsNaN(float64(o.Score)) {
					t.Fatalf("seed %d frame %d: %+v", seed, f, o)
				}
			}
		}
	}
}

// TestReviveAfterMakeRoomDroppedIt: reviving one ended track can end a live one, which drops
// the oldest ended track from the list; when that dropped track is matched later in the same
// frame it must still come back live, not vanish (it used to be revived into neither list).
func TestReviveAfterMakeRoomDroppedIt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTracks = 2
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	axis := func(i int) []float32 {
		v := make([]float32, 8)
		v[i] = 1
		return v
	}
	mk := func(id uint64, seen float64, e []float32) *track {
		sum := make([]float64, len(e))
		for i, x := range e {
			sum[i] = float64(x)
		}
		return &track{id: id, born: seen - 500, seen: seen, hits: cfg.MinHits + 2, cx: 50, cy: 50, w: 20, h: 20,
			app: e, sum: sum}
	}
	l1, l2 := mk(1, 1900, axis(0)), mk(2, 1950, axis(1)) // both seen after x: ending one drops x from ended
	y, x := mk(3, 2000, axis(2)), mk(4, 1800, axis(3))
	tr.live, tr.ended = []*track{l1, l2}, []*track{y, x}
	tr.nextID, tr.started, tr.now = 5, true, 2100
	dets := []Detection{
		{Box: Box{300, 300, 20, 20}, Score: 0.9, Embedding: axis(2), Threshold: 0.5},
		{Box: Box{600, 300, 20, 20}, Score: 0.9, Embedding: axis(3), Threshold: 0.5},
	}
	in, err := tr.check(2200, dets)
	if err != nil {
		t.Fatal(err)
	}
	used := make([]bool, len(in))
	tr.reidentify(2200, in, used)
	for _, tk := range []*track{x, y} {
		if !slices.Contains(tr.live, tk) {
			t.Errorf("track %d matched to a detection but not live (live %v, ended %v)", tk.id, ids(tr.live), ids(tr.ended))
		}
	}
	if len(tr.live) > cfg.MaxTracks {
		t.Errorf("%d live tracks, cap %d", len(tr.live), cfg.MaxTracks)
	}
}

func ids(ts []*track) []uint64 {
	var out []uint64
	for _, tk := range ts {
		out = append(out, tk.id)
	}
	return out
}
