package eval

import (
	"math"
	"testing"

	"github.com/toonid/toonid/pack"
)

// handCase: 2-D unit vectors, so every cosine is worked out by hand below.
//
//	row  id  role        vector
//	0    A   gallery     ( 1,    0   )
//	1    A   probe       ( 0.8,  0.6 )
//	2    A   probe       ( 0.6, -0.8 )
//	3    B   gallery     ( 0,    1   )
//	4    B   probe       ( 0.6,  0.8 )
//	5    B   probe       ( 0.96, 0.28)
//	6    X   distractor  ( 0.28,-0.96)
func handCase() ([]Row, [][]float32) {
	rows := []Row{
		{"a1", "A", Gallery}, {"a2", "A", Probe}, {"a3", "A", Probe},
		{"b1", "B", Gallery}, {"b2", "B", Probe}, {"b3", "B", Probe},
		{"x", "X", Distractor},
	}
	embs := [][]float32{{1, 0}, {0.8, 0.6}, {0.6, -0.8}, {0, 1}, {0.6, 0.8}, {0.96, 0.28}, {0.28, -0.96}}
	return rows, embs
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestICFRank1ByHand(t *testing.T) {
	// probe 1 (.8,.6): best distractor sim .224-.576 = -.352; mates: row0 .8 hit, row2 .48-.48 = 0 hit.
	// probe 2 (.6,-.8): best distractor .168+.768 = .936; mates: row0 .6 miss, row1 0 miss.
	// probe 4 (.6,.8): best distractor .168-.768 = -.6; mates: row3 .8 hit, row5 .576+.224 = .8 hit.
	// probe 5 (.96,.28): best distractor .2688-.2688 = 0; mates: row3 .28 hit, row4 .8 hit.
	// 8 pairs, 6 hits -> 0.75.
	rows, embs := handCase()
	if got := ICFRank1(rows, embs); !near(got, 0.75) {
		t.Fatalf("icf_rank1 = %v, want 0.75", got)
	}
	// Without distractors every pair is a hit: 8/8.
	if got := ICFRank1(rows[:6], embs[:6]); !near(got, 1) {
		t.Fatalf("icf_rank1 without distractors = %v, want 1", got)
	}
}

func TestOpenSetByHand(t *testing.T) {
	// Pack from galleries: A = (1,0), B = (0,1) (one image each -> one sub-centre, exact in int8).
	// probe 1: A .8, B .6 -> right, .8     probe 2: A .6, B -.8 -> right, .6
	// probe 4: A .6, B .8 -> right, .8     probe 5: A .96, B .28 -> wrong (B second)
	// top1 = 3/4, top5 = 4/4. Distractor: A .28, B -.96 -> best .28; 1% of 1 distractor allows 0
	// accepts, so t is just above .28 and the three right probes (.8, .6, .8) pass: DIR = 3/4.
	rows, embs := handCase()
	r, err := Evaluate(rows, embs, pack.BuildOptions{ModelSHA256: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.PackTop1, 0.75) || !near(r.PackTop5, 1) || !near(r.DIRAtFAR1pct, 0.75) {
		t.Fatalf("top1 %v top5 %v dir %v, want .75 1 .75", r.PackTop1, r.PackTop5, r.DIRAtFAR1pct)
	}
	if r.NIdentities != 2 || r.NGallery != 2 || r.NProbe != 4 || r.NDistractor != 1 {
		t.Fatalf("counts %+v", r)
	}
	if !near(r.ICFRank1, 0.75) || r.TARAtFAR1e3 != 0 {
		t.Fatalf("icf %v tar %v, want .75 and 0", r.ICFRank1, r.TARAtFAR1e3)
	}
	// A distractor right on A = (1,0) scores 1.0: t is above 1, nothing is accepted, DIR = 0,
	// while top1/top5 do not change.
	embs[6] = []float32{1, 0}
	r, _ = Evaluate(rows, embs, pack.BuildOptions{ModelSHA256: "m"})
	if r.DIRAtFAR1pct != 0 || !near(r.PackTop1, 0.75) {
		t.Fatalf("with a perfect distractor: dir %v top1 %v, want 0 and .75", r.DIRAtFAR1pct, r.PackTop1)
	}
}

func TestTARByHand(t *testing.T) {
	// 21 pairs: genuine A {0,1,2}: .8, .6, 0; B {3,4,5}: .8, .28, .8 (6 pairs).
	// 15 impostor sims, sorted: .96 .96 .936 .936 .6 .6 .352 .28 0 0 -.28 -.352 -.6 -.8 -.96
	// FAR 1e-3 of 15 allows 0: t just above .96 -> no genuine pair passes: TAR 0.
	// FAR 0.4 allows 6: t just above the 7th (.352) -> genuine .8 .6 .8 .8 pass: 4/6.
	rows, embs := handCase()
	if got := TARAtFAR(rows, embs, 1e-3); got != 0 {
		t.Errorf("TAR@1e-3 = %v, want 0", got)
	}
	if got := TARAtFAR(rows, embs, 0.4); !near(got, 4.0/6) {
		t.Errorf("TAR@0.4 = %v, want 4/6", got)
	}
	// FAR 1 allows every impostor: t = -Inf, all 6 genuine pairs pass.
	if got := TARAtFAR(rows, embs, 1); !near(got, 1) {
		t.Errorf("TAR@1 = %v, want 1", got)
	}
	// One identity: genuine pairs but no impostor pair, so no FAR to hold: 0, as metrics.py says.
	for i := range rows {
		rows[i].Identity = "A"
	}
	if got := TARAtFAR(rows, embs, 1); got != 0 {
		t.Errorf("TAR without impostors = %v, want 0", got)
	}
}

func TestEvaluateRejects(t *testing.T) {
	rows, embs := handCase()
	if _, err := Evaluate(rows, embs[:3], pack.BuildOptions{}); err == nil {
		t.Error("length mismatch accepted")
	}
	rows[0].Role = "judge"
	if _, err := Evaluate(rows, embs, pack.BuildOptions{}); err == nil {
		t.Error("unknown role accepted")
	}
}
