package pack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// noPanic runs f, turning a panic into a test error.
func noPanic(t *testing.T, what string, f func() error) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
				t.Errorf("%s panicked: %v", what, r)
			}
		}()
		err = f()
	}()
	return err
}

// TestHostileNumbers: numbers a caller (a CLI flag) passes are checked, with errors, not
// panics. Before: Match(q, MaxInt) panicked in make (`toonid identify -k 9223372036854775807`),
// ThresholdAtFAR(s, NaN) indexed s[int(NaN)] (`toonid pack build -far NaN`), a huge nprobe
// panicked in make, and Calibrate and Build let NaN through.
func TestHostileNumbers(t *testing.T) {
	p, centres := smallPack(t)
	m, err := NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{math.MaxInt, math.MaxInt32, 1 << 40} {
		var res Result
		if err := noPanic(t, fmt.Sprintf("Match(k=%d)", k), func() (err error) { res, err = m.Match(centres[0], k); return }); err != nil {
			t.Errorf("Match(k=%d): %v", k, err)
		} else if len(res.Answers) != len(p.Labels) {
			t.Errorf("Match(k=%d): %d answers, want every one of the %d labels", k, len(res.Answers), len(p.Labels))
		}
	}
	for _, far := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, -1e-300, 1.5} {
		if err := noPanic(t, fmt.Sprintf("ThresholdAtFAR(%v)", far), func() error {
			_, err := ThresholdAtFAR([]float32{0.1, 0.5, 0.9}, far)
			return err
		}); err == nil {
			t.Errorf("ThresholdAtFAR(far=%v) accepted", far)
		}
		if err := noPanic(t, fmt.Sprintf("Calibrate(%v)", far), func() error { return p.Calibrate(centres, far) }); err == nil {
			t.Errorf("Calibrate(far=%v) accepted", far)
		}
	}
	for _, o := range []BuildOptions{
		{Threshold: float32(math.NaN())}, {Threshold: float32(math.Inf(1))}, {Threshold: 2},
		{Spread: float32(math.NaN())}, {IVFLists: -1 << 40}, {NProbe: math.MinInt},
	} {
		err := noPanic(t, fmt.Sprintf("Build(%+v)", o), func() error {
			_, err := Build([]Label{{ID: "a"}}, [][][]float32{{{1, 0}}}, o)
			return err
		})
		if o.IVFLists == 0 && o.NProbe == 0 && err == nil {
			t.Errorf("Build(%+v) accepted", o)
		}
	}
	// A huge nprobe on an IVF pack, per matcher and at Open.
	labels, embs, _ := clustered(rand.New(rand.NewPCG(7, 7)), 6, 5, 16, 0.3)
	ivf, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel, IVFLists: 3})
	if err != nil {
		t.Fatal(err)
	}
	mi, _ := NewMatcher(ivf)
	mi = mi.WithNProbe(math.MaxInt)
	noPanic(t, "Match with nprobe MaxInt", func() error { _, err := mi.Match(centres[0], 3); return err })
	man, files, err := ivf.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fsys := mapFS(man, files)
	noPanic(t, "Open with NProbe MaxInt", func() error {
		_, err := Open(fsys, OpenOptions{Query: centres[0], NProbe: math.MaxInt})
		return err
	})
}
