package track

import (
	"math"
	"slices"
)

// unknownID is the vote key of "no character above the threshold" (shown as label "").
const unknownID = ""

// identity is a track's running decision over its crops. Each crop casts a vote: a softmax over
// its answers and "unknown" (scored at the threshold). The votes decay exponentially per crop,
// and the shares are normalised by the decayed weight (so the first crops are not under-counted).
// The shown label follows the leading share only with hysteresis, so one wrong top-1, or a
// few, does not change it.
type identity struct {
	votes   map[string]*vote
	weight  float64 // decayed sum of crop weights, the normaliser
	top     float64 // smoothed best answer score (the score shown for unknown)
	decided bool
	label   string

	challenger string // the identity leading the label by the margin, and for how many crops
	streak     int
}

type vote struct {
	share float64 // decayed sum of this identity's vote
	score float64 // decayed mean of its answer score, when it was among the answers
	seen  float64 // decayed weight of the crops that had it among the answers
}

// observe adds a crop's vote and updates the decision.
func (id *identity) observe(d Detection, c *Config) {
	if id.votes == nil {
		id.votes = make(map[string]*vote)
	}
	// A weak detection counts as a fraction of a crop: it decays the old votes less and adds less.
	w := math.Min(math.Max(float64(d.Score), 0.05), 1)
	keep := math.Pow(c.VoteDecay, w)
	add := 1 - keep

	// The crop's vote: softmax over its distinct answers (best score per id) and unknown.
	scores := make([]Answer, 0, len(d.Answers))
	for _, a := range d.Answers {
		if a.ID == unknownID {
			continue
		}
		if i := slices.IndexFunc(scores, func(b Answer) bool { return b.ID == a.ID }); i >= 0 {
			scores[i].Score = max(scores[i].Score, a.Score)
		} else {
			scores = append(scores, a)
		}
	}
	thr := float64(d.Threshold)
	top := thr // the best answer's score, shown for unknown
	if len(scores) > 0 {
		top = math.Inf(-1)
		for _, a := range scores {
			top = math.Max(top, float64(a.Score))
		}
	}
	best := math.Max(thr, top) // subtracted before exp, for range
	total := math.Exp((thr - best) / c.Temperature)
	for _, a := range scores {
		total += math.Exp((float64(a.Score) - best) / c.Temperature)
	}

	for _, v := range id.votes {
		v.share *= keep
		v.seen *= keep
	}
	cast := func(key string, p, score float64, answered bool) {
		v := id.votes[key]
		if v == nil {
			v = &vote{}
			id.votes[key] = v
		}
		v.share += add * p
		if answered {
			v.score = (v.score*v.seen + add*score) / (v.seen + add)
			v.seen += add
		}
	}
	cast(unknownID, math.Exp((thr-best)/c.Temperature)/total, 0, false)
	for _, a := range scores {
		s := float64(a.Score)
		cast(a.ID, math.Exp((s-best)/c.Temperature)/total, s, true)
	}
	if id.weight == 0 {
		id.top = top
	} else {
		id.top = (id.top*id.weight*keep + add*top) / (id.weight*keep + add)
	}
	id.weight = id.weight*keep + add

	// Forget identities whose share has decayed to nothing: the map stays ~k+1 entries per
	// few crops instead of growing over a long video.
	for key, v := range id.votes {
		if key != id.label && v.share < 1e-4*id.weight {
			delete(id.votes, key)
		}
	}
	id.decide(c)
}

func (id *identity) decide(c *Config) {
	leader, lead := "", math.Inf(-1)
	for key, v := range id.votes {
		if v.share > lead || (v.share == lead && key < leader) {
			leader, lead = key, v.share
		}
	}
	if !id.decided {
		id.label, id.decided = leader, true
		return
	}
	if leader == id.label || (lead-id.share(id.label))/id.weight < c.SwitchMargin {
		id.challenger, id.streak = "", 0
		return
	}
	if leader != id.challenger {
		id.challenger, id.streak = leader, 0
	}
	id.streak++
	if id.streak >= c.SwitchFrames {
		id.label, id.challenger, id.streak = leader, "", 0
	}
}

func (id *identity) share(key string) float64 {
	if v := id.votes[key]; v != nil {
		return v.share
	}
	return 0
}

// confidence is the label's normalised vote share.
func (id *identity) confidence() float64 {
	if id.weight == 0 {
		return 0
	}
	return id.share(id.label) / id.weight
}

// score is the label's smoothed answer score (unknown: the smoothed best score).
func (id *identity) score() float64 {
	if v := id.votes[id.label]; v != nil && id.label != unknownID && v.seen > 0 {
		return v.score
	}
	return id.top
}
