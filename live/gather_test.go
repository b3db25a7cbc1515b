package live

import (
	"errors"
	"image"
	"testing"
)

// The taught face drifts in colour (a stand-in for pose and light) as it walks right; a blue
// face stands near it; after 2.6 s the taught face has left the frame.
func gatherScene(tm float64) []square {
	sq := []square{{image.Rect(380, 200, 460, 280), blue, "Blue"}}
	if tm <= 2600 {
		x := 40 + int(tm/10)  // 100 px a second
		g := byte(20 + tm/20) // the drift: 20..150 in green
		sq = append(sq, square{image.Rect(x, 60, x+80, 140), [3]byte{230, g, 20}, "Red"})
	}
	return sq
}

func TestGatherFollowsTheSeedFaceBothWays(t *testing.T) {
	const seedT = 1500.0
	seed := gatherScene(seedT)[1].r
	opt := DefaultGatherOptions()
	g, first, err := NewGatherer(&squareDetector{}, colourEmbedder{}, frame(gatherScene(seedT)...), fw, fh, seedT,
		[4]float64{float64(seed.Min.X) + 5, float64(seed.Min.Y) - 5, 70, 90}, opt) // a rough click box
	if err != nil {
		t.Fatal(err)
	}
	if !first.Found || first.Keep != 0 || iou(first.Box, seed) < 0.99 {
		t.Fatalf("seed frame: %+v, want the detector's box %v kept as 0", first, seed)
	}
	var found, kept, dups int
	var forwardDone bool
	run := func(tm float64) Gathered {
		out, err := g.Add(frame(gatherScene(tm)...), fw, fh, tm)
		if err != nil {
			t.Fatal(err)
		}
		if out.Found {
			found++
			truth := gatherScene(tm)
			if len(truth) < 2 || iou(out.Box, truth[1].r) < 0.99 {
				t.Fatalf("%v ms: followed %v, not the taught face (%v)", tm, out.Box, truth)
			}
			if out.Keep >= 0 {
				kept++
			} else {
				dups++
			}
		}
		return out
	}
	for tm := seedT + 100; tm <= 8000 && !forwardDone; tm += 100 {
		out := run(tm)
		if out.Found && tm > 2600 {
			t.Fatalf("%v ms: found a face that left at 2600 ms: %+v", tm, out)
		}
		forwardDone = out.Done
		if out.Done && tm < 2600+opt.LostMS {
			t.Fatalf("forward done at %v ms, before the face was lost for LostMS", tm)
		}
	}
	if !forwardDone {
		t.Fatal("forward never finished")
	}
	for tm := seedT - 100; tm >= 0; tm -= 100 {
		if out := run(tm); out.Done {
			t.Fatalf("backward done at %v ms with the face still there", tm)
		}
	}
	if want := 26; found != want { // 1600..2600 forward, 1400..0 backward, every 100 ms
		t.Errorf("found in %d frames, want %d", found, want)
	}
	if dups == 0 || kept == 0 {
		t.Errorf("kept %d, near-duplicates %d: the drift should give both", kept, dups)
	}
	s := g.Pick(8)
	if s.Kept != kept+1 || len(s.Picked) != min(8, s.Kept) || s.Picked[0] != 0 {
		t.Errorf("summary %+v, kept %d + the seed", s, kept)
	}
	if s.Seconds != 2.6 || s.From != 0 || s.To != 2600 {
		t.Errorf("span %v s from %v to %v, want 2.6 s from 0 to 2600", s.Seconds, s.From, s.To)
	}
	// The picks spread over the drift: the first two are the seed and the crop farthest from it
	// (one end of the clip).
	seen := map[int]bool{}
	for _, i := range s.Picked {
		if seen[i] {
			t.Fatalf("picked %d twice: %v", i, s.Picked)
		}
		seen[i] = true
	}
	es, err := g.Embeddings(s.Picked)
	if err != nil || len(es) != len(s.Picked) {
		t.Fatal(err)
	}
	if c := cosine(es[0], es[1]); c > opt.DupCosine {
		t.Errorf("second pick cosine %.3f with the seed: not spread", c)
	}
	if _, err := g.Embeddings([]int{s.Kept}); err == nil {
		t.Error("an index past the kept crops accepted")
	}
}

func TestGatherRefuses(t *testing.T) {
	pix := frame(gatherScene(0)...)
	opt := DefaultGatherOptions()
	for _, tc := range []struct {
		name string
		box  [4]float64
		t    float64
		opt  func(*GatherOptions)
	}{
		{"box off the frame", [4]float64{fw + 10, 10, 50, 50}, 0, nil},
		{"empty box", [4]float64{10, 10, 0, 50}, 0, nil},
		{"NaN box", [4]float64{10, 10, 50, 0 / zero}, 0, nil},
		{"NaN time", [4]float64{10, 10, 50, 50}, 0 / zero, nil},
		{"MaxCrops 0", [4]float64{10, 10, 50, 50}, 0, func(o *GatherOptions) { o.MaxCrops = 0 }},
		{"cosine 2", [4]float64{10, 10, 50, 50}, 0, func(o *GatherOptions) { o.DupCosine = 2 }},
	} {
		o := opt
		if tc.opt != nil {
			tc.opt(&o)
		}
		if _, _, err := NewGatherer(&squareDetector{}, colourEmbedder{}, pix, fw, fh, tc.t, tc.box, o); err == nil {
			t.Errorf("%s: accepted", tc.name)
		} else if tc.opt == nil && tc.name != "NaN time" && !errors.Is(err, ErrNoFace) {
			t.Errorf("%s: %v, want ErrNoFace", tc.name, err)
		}
	}
	g, _, err := NewGatherer(&squareDetector{}, colourEmbedder{}, pix, fw, fh, 1000, [4]float64{40, 60, 80, 80}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Add(pix, fw, fh, 1500); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Add(pix, fw, fh, 1200); err == nil {
		t.Error("a forward frame going back towards the seed accepted")
	}
	if _, err := g.Add(pix[:10], fw, fh, 1600); err == nil {
		t.Error("short pixels accepted")
	}
}

var zero float64
