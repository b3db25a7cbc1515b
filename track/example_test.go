package track_test

import (
	"fmt"
	"log"

	"github.com/toonid/toonid/track"
)

// One face walking right for five frames at 25 fps, with one frame where the pack's top-1 is
// wrong: the shown label stays "sintel". The first frame shows nothing (Config.MinHits).
// Embeddings would come from the model; these tiny ones only show the shape of the call.
func ExampleTracker_Update() {
	tr, err := track.New(track.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	for f := range 5 {
		top := []track.Answer{{ID: "sintel", Score: 0.84}, {ID: "pepper", Score: 0.78}}
		if f == 3 {
			top = []track.Answer{{ID: "pepper", Score: 0.83}, {ID: "sintel", Score: 0.80}}
		}
		det := track.Detection{
			Box:       track.Box{X: 100 + 10*float64(f), Y: 50, W: 80, H: 80},
			Score:     0.9,
			Embedding: []float32{0.6, 0.8, 0},
			Answers:   top,
			Threshold: 0.75,
		}
		out, err := tr.Update(float64(f)*40, []track.Detection{det})
		if err != nil {
			log.Fatal(err)
		}
		for _, o := range out {
			fmt.Printf("frame %d: track %d at x=%.0f %q (%.2f) seen %d times\n", f, o.TrackID, o.Box.X, o.Label, o.Score, o.Hits)
		}
	}
	// Output:
	// frame 1: track 1 at x=110 "sintel" (0.84) seen 2 times
	// frame 2: track 1 at x=120 "sintel" (0.84) seen 3 times
	// frame 3: track 1 at x=130 "sintel" (0.83) seen 4 times
	// frame 4: track 1 at x=140 "sintel" (0.83) seen 5 times
}
