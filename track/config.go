package track

import (
	"errors"
	"fmt"
	"math"
)

// Config holds every parameter of a Tracker. Start from DefaultConfig and change what you
// need; New refuses a Config that does not pass Validate. Times are in milliseconds so that
// the tracker behaves the same whether the detector runs on every frame or every k-th.
type Config struct {
	// MaxTracks caps the live tracks (and, separately, the ended ones kept for
	// re-identification). A new face beyond it evicts the track unseen the longest. 16:
	// cartoons rarely show more faces than that large enough to name.
	MaxTracks int

	// MinHits: a track is shown once it has this many crops. 2: a detector false positive
	// that flashes for one frame never shows, for one frame of delay on real faces.
	MinHits int

	// CoastMS: an unmatched track is shown at its predicted box for this long. 500: covers a
	// brief occlusion (12 frames at 25 fps) without a label drifting on after a face left.
	CoastMS float64
	// EndMS: a track unmatched for longer ends (moves to the ended list). 1500.
	EndMS float64
	// ReidMS: a track whose face was last seen at most this long ago can be re-identified by
	// its mean embedding (it keeps its ID and name). 5000: "comes back within a few seconds".
	ReidMS float64
	// MaxPredictMS caps how far the constant-velocity model extrapolates. 1000.
	MaxPredictMS float64

	// MaxJump gates stage 1: a detection whose centre is farther than MaxJump times the
	// predicted box's side (sqrt(w*h)) from the prediction cannot match. 1.0.
	MaxJump float64
	// MinCosine gates stage 1 on appearance (when both sides have embeddings). 0.5: low,
	// because the embedder's cone is narrow (unrelated characters often score 0.7+) and
	// position does most of the work from frame to frame.
	MinCosine float64
	// IoUWeight is IoU's share of the stage 1 similarity; the rest is appearance (the cosine
	// above MinCosine rescaled to [0, 1]). 0.5.
	IoUWeight float64
	// ReidCosine: stage 2 re-identifies a lost or ended track whose mean embedding has at least
	// this cosine with a detection. 0.85: above most unrelated pairs of this embedder, below
	// most crops of one face seconds apart; measure on real video (make bench-live).
	ReidCosine float64

	// PositionAlpha and VelocityBeta are the alpha-beta filter's gains on the box centre:
	// how much of the residual between detection and prediction goes to the position, and
	// (per ms) to the velocity. 0.7, 0.3: follows quick moves, smooths detector jitter.
	PositionAlpha, VelocityBeta float64
	// SizeAlpha smooths the box size (no size velocity: a zoom is slow, a wrong size
	// extrapolated over a gap is worse). 0.5.
	SizeAlpha float64
	// AppearanceKeep is the share of the old appearance kept per crop in the track's recent
	// embedding (stage 1 compares it). 0.8.
	AppearanceKeep float64

	// VoteDecay is how much of a track's per-identity votes a full-weight crop keeps: the
	// votes are an exponentially weighted sum over the crops (a detection of score s counts
	// as s crops). 0.9: about 10 crops of memory, so ~7 wrong crops in a row are needed to
	// overturn a settled name.
	VoteDecay float64
	// Temperature turns one crop's answers into a vote: softmax(score / Temperature) over the
	// answers and "unknown" (which scores the threshold). 0.02: pack scores of the top few
	// candidates sit within a few hundredths of each other.
	Temperature float64
	// SwitchMargin and SwitchFrames are the hysteresis: the shown label changes only when
	// another identity's vote share leads it by SwitchMargin for SwitchFrames crops in a row.
	// 0.15, 3.
	SwitchMargin float64
	SwitchFrames int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		MaxTracks:      16,
		MinHits:        2,
		CoastMS:        500,
		EndMS:          1500,
		ReidMS:         5000,
		MaxPredictMS:   1000,
		MaxJump:        1.0,
		MinCosine:      0.5,
		IoUWeight:      0.5,
		ReidCosine:     0.85,
		PositionAlpha:  0.7,
		VelocityBeta:   0.3,
		SizeAlpha:      0.5,
		AppearanceKeep: 0.8,
		VoteDecay:      0.9,
		Temperature:    0.02,
		SwitchMargin:   0.15,
		SwitchFrames:   3,
	}
}

// ErrConfig is wrapped by Validate's errors.
var ErrConfig = errors.New("track: invalid config")

// Validate reports the first parameter out of its range.
func (c Config) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrConfig, name, v, want)
	}
	in := func(v, lo, hi float64) bool { return finite(v) && v >= lo && v <= hi }
	switch {
	case c.MaxTracks < 1 || c.MaxTracks > 1024:
		return bad("MaxTracks", c.MaxTracks, "1..1024")
	case c.MinHits < 1:
		return bad("MinHits", c.MinHits, ">= 1")
	case !in(c.CoastMS, 0, math.MaxFloat64):
		return bad("CoastMS", c.CoastMS, ">= 0")
	case !in(c.EndMS, c.CoastMS, math.MaxFloat64):
		return bad("EndMS", c.EndMS, ">= CoastMS")
	case !in(c.ReidMS, 0, math.MaxFloat64):
		return bad("ReidMS", c.ReidMS, ">= 0")
	case !in(c.MaxPredictMS, 0, math.MaxFloat64):
		return bad("MaxPredictMS", c.MaxPredictMS, ">= 0")
	case !in(c.MaxJump, 0, math.MaxFloat64):
		return bad("MaxJump", c.MaxJump, ">= 0")
	case !in(c.MinCosine, -1, 0.999):
		return bad("MinCosine", c.MinCosine, "in [-1, 0.999]")
	case !in(c.IoUWeight, 0, 1):
		return bad("IoUWeight", c.IoUWeight, "in [0, 1]")
	case !in(c.ReidCosine, -1, 1):
		return bad("ReidCosine", c.ReidCosine, "in [-1, 1]")
	case !in(c.PositionAlpha, 0, 1):
		return bad("PositionAlpha", c.PositionAlpha, "in [0, 1]")
	case !in(c.VelocityBeta, 0, 1):
		return bad("VelocityBeta", c.VelocityBeta, "in [0, 1]")
	case !in(c.SizeAlpha, 0, 1):
		return bad("SizeAlpha", c.SizeAlpha, "in [0, 1]")
	case !in(c.AppearanceKeep, 0, 1):
		return bad("AppearanceKeep", c.AppearanceKeep, "in [0, 1]")
	case !in(c.VoteDecay, 0, 0.9999) || c.VoteDecay == 0:
		return bad("VoteDecay", c.VoteDecay, "in (0, 1)")
	case !in(c.Temperature, 1e-6, math.MaxFloat64):
		return bad("Temperature", c.Temperature, "> 0")
	case !in(c.SwitchMargin, 0, 1):
		return bad("SwitchMargin", c.SwitchMargin, "in [0, 1]")
	case c.SwitchFrames < 1:
		return bad("SwitchFrames", c.SwitchFrames, ">= 1")
	}
	return nil
}
