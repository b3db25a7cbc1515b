package pack

import (
	"fmt"
	"math"
	"sort"
)

// An Answer is one candidate character.
type Answer struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Series string  `json:"series,omitempty"`
	Credit string  `json:"credit,omitempty"`
	Pack   string  `json:"pack,omitempty"`
	Score  float32 `json:"score"` // cosine similarity of the best sub-centre, in [-1, 1]
}

// A Result is the top-k answers, best first, and whether the best is below the threshold.
type Result struct {
	Answers   []Answer `json:"answers"`
	Unknown   bool     `json:"unknown"`
	Threshold float32  `json:"threshold"`
}

// A Matcher matches embeddings against one or more packs (e.g. a downloaded pack plus the user's
// own enrolled characters). Characters with the same id in several packs are one character.
// It does not change after NewMatcher and is safe for concurrent use.
type Matcher struct {
	dim       int
	threshold float32
	nprobe    int
	labels    []Answer // unified label table
	packs     []*Pack
	maps      [][]int32 // per pack: pack label index -> unified index
}

// NewMatcher merges packs. They must share the embedding size and the model. The threshold is the
// first calibrated pack's (a user's enrolled pack is not calibrated), else the first pack's.
func NewMatcher(packs ...*Pack) (*Matcher, error) {
	if len(packs) == 0 {
		return nil, fmt.Errorf("pack: matcher: no packs")
	}
	m := &Matcher{dim: packs[0].Dim, threshold: packs[0].Threshold}
	for _, p := range packs {
		if p.ThresholdCalibrated {
			m.threshold = p.Threshold
			break
		}
	}
	index := map[string]int32{}
	for _, p := range packs {
		if p.Dim != m.dim {
			return nil, fmt.Errorf("pack: matcher: pack %q has dim %d, pack %q has %d", p.Name, p.Dim, packs[0].Name, m.dim)
		}
		if p.ModelSHA256 != packs[0].ModelSHA256 {
			return nil, fmt.Errorf("pack: matcher: pack %q: %w: %s vs %s", p.Name, ErrModelMismatch, p.ModelSHA256, packs[0].ModelSHA256)
		}
		mp := make([]int32, len(p.Labels))
		for i, l := range p.Labels {
			u, ok := index[l.ID]
			if !ok {
				u = int32(len(m.labels))
				index[l.ID] = u
				m.labels = append(m.labels, Answer{ID: l.ID, Name: l.Name, Series: l.Series, Credit: l.Credit, Pack: p.Name})
			}
			mp[i] = u
		}
		m.packs = append(m.packs, p)
		m.maps = append(m.maps, mp)
	}
	return m, nil
}

// Threshold is the score below which the best answer is "unknown".
func (m *Matcher) Threshold() float32 { return m.threshold }

// WithThreshold returns a matcher over the same packs with another threshold. m itself does not
// change (it may be in use by other goroutines); the copy shares the packs and the label table,
// which nothing changes after NewMatcher.
func (m *Matcher) WithThreshold(t float32) *Matcher {
	c := *m
	c.threshold = t
	return &c
}

// WithNProbe returns a matcher over the same packs that scans n IVF lists per query (0: each
// pack's default). m itself does not change.
func (m *Matcher) WithNProbe(n int) *Matcher {
	c := *m
	c.nprobe = n
	return &c
}

// Dim is the embedding size.
func (m *Matcher) Dim() int { return m.dim }

type cand struct {
	label int32
	score float32
}

// topK keeps the k best distinct labels, each at its best score. A label's best score is always
// offered; when it is refused there were already k other labels scoring higher, and the k-th best
// score only grows, so the result is exactly the top-k of per-label maxima.
type topK struct {
	c   []cand
	k   int
	min float32 // k-th best score once full, -Inf before
}

func (t *topK) offer(l int32, s float32) {
	for i := range t.c {
		if t.c[i].label == l {
			if s > t.c[i].score {
				t.c[i].score = s
				t.refresh()
			}
			return
		}
	}
	if len(t.c) < t.k {
		t.c = append(t.c, cand{l, s})
		t.refresh()
		return
	}
	w := 0
	for i := range t.c {
		if t.c[i].score < t.c[w].score {
			w = i
		}
	}
	t.c[w] = cand{l, s}
	t.refresh()
}

func (t *topK) refresh() {
	if len(t.c) < t.k {
		t.min = float32(math.Inf(-1))
		return
	}
	t.min = t.c[0].score
	for _, c := range t.c[1:] {
		t.min = min(t.min, c.score)
	}
}

// Match returns the k best characters for embedding q (normalised here, so any scale works).
func (m *Matcher) Match(q []float32, k int) (Result, error) {
	if k < 1 {
		return Result{}, fmt.Errorf("pack: match: k = %d, want >= 1", k)
	}
	q, err := normalized(q, m.dim)
	if err != nil {
		return Result{}, fmt.Errorf("pack: match: %w", err)
	}
	// k may be anything a caller passes (a CLI flag): at most every label can be an answer.
	t := topK{k: k, min: float32(math.Inf(-1)), c: make([]cand, 0, min(k, len(m.labels)))}
	for pi, p := range m.packs {
		mp := m.maps[pi]
		if p.coarse == nil {
			for li := range p.lists {
				scan(&p.lists[li], q, mp, &t)
			}
			continue
		}
		np := m.nprobe
		if np <= 0 {
			np = p.nprobe
		}
		for _, li := range p.nearLists(q, np, func(l int) bool { return p.lists[l].Len() > 0 }) {
			scan(&p.lists[li], q, mp, &t)
		}
	}
	sort.Slice(t.c, func(i, j int) bool {
		if t.c[i].score != t.c[j].score {
			return t.c[i].score > t.c[j].score
		}
		return t.c[i].label < t.c[j].label
	})
	r := Result{Threshold: m.threshold, Answers: make([]Answer, len(t.c))}
	for i, c := range t.c {
		r.Answers[i] = m.labels[c.label]
		// int8 rounding can push a perfect match a little past 1; a cosine is at most 1.
		r.Answers[i].Score = min(c.score, 1)
	}
	r.Unknown = len(r.Answers) == 0 || r.Answers[0].Score < m.threshold
	return r, nil
}

// scan1 scores rows one at a time: the fastest natively.
func scan1(s *Shard, q []float32, mp []int32, t *topK) {
	d := s.Dim
	off := s.centreDot(q)
	for r, sc := range s.Scales {
		v := off + sc*dotInt8(s.Data[r*d:(r+1)*d], q)
		if v > t.min {
			t.offer(mp[s.Labels[r]], v)
		}
	}
}

// scan4 scores four rows per pass over the query, so each query value is loaded once for four
// rows: 1.5-1.9x faster than scan1 in Go wasm (no SIMD), 1.2x slower natively (pack/BENCHMARKS.md).
func scan4(s *Shard, q []float32, mp []int32, t *topK) {
	d := s.Dim
	n := s.Len()
	q = q[:d]
	off := s.centreDot(q)
	r := 0
	for ; r+4 <= n; r += 4 {
		blk := s.Data[r*d : (r+4)*d]
		r0, r1, r2, r3 := blk[:d], blk[d:2*d], blk[2*d:3*d], blk[3*d:4*d]
		var s0, s1, s2, s3 float32
		for i, x := range q {
			s0 += float32(r0[i]) * x
			s1 += float32(r1[i]) * x
			s2 += float32(r2[i]) * x
			s3 += float32(r3[i]) * x
		}
		for k, v := range [4]float32{s0, s1, s2, s3} {
			if v = off + v*s.Scales[r+k]; v > t.min {
				t.offer(mp[s.Labels[r+k]], v)
			}
		}
	}
	for ; r < n; r++ {
		if v := off + s.Scales[r]*dotInt8(s.Data[r*d:(r+1)*d], q); v > t.min {
			t.offer(mp[s.Labels[r]], v)
		}
	}
}

// dotInt8 is Σ a[i]·b[i] for int8 a; four accumulators keep the adds independent.
func dotInt8(a []int8, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float32(a[i]) * b[i]
		s1 += float32(a[i+1]) * b[i+1]
		s2 += float32(a[i+2]) * b[i+2]
		s3 += float32(a[i+3]) * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += float32(a[i]) * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dot(a, b []float32) float32 {
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
	return (s0 + s1) + (s2 + s3)
}
