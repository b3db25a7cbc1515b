package track

import (
	"fmt"
	"testing"
)

// One frame with 6 faces on 6 live tracks (256-d embeddings, as the shipped embedder's, and 5
// answers each), the steady state of live mode.
func BenchmarkUpdate6Faces(b *testing.B) {
	w := newWorld(11)
	w.dim = 256
	w.common = w.randUnit()
	const faces = 6
	frames := make([][]Detection, 32)
	for f := range frames {
		for k := range faces {
			id := fmt.Sprint("c", k)
			d := w.face(id, Box{float64(k)*130 + 2*float64(f), 100 + float64(f%3), 90, 90}, id)
			d.Answers = append(d.Answers, Answer{"x4", 0.7})
			frames[f] = append(frames[f], d)
		}
	}
	tr := mustNew(b, DefaultConfig())
	ms := 0.0
	for _, dets := range frames[:4] {
		mustUpdate(b, tr, ms, dets)
		ms += frameMS
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := tr.Update(ms, frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		ms += frameMS
	}
	if len(tr.live) != faces {
		b.Fatalf("%d live tracks, want %d", len(tr.live), faces)
	}
}
