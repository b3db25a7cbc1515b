package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/toonid/toonid/live"
	"github.com/toonid/toonid/pack"
)

// Live mode and teaching from a video (package live) behind the protocol: the worker starts a
// live session, then sends each frame it does not drop with its time on the video's clock; to
// teach from a video it starts a gathering on the paused frame with the clicked face's box,
// sends the frames it seeks to, and asks for the crops to teach.

// liveState is a Bridge's live session and gathering (at most one of each).
type liveState struct {
	step   *live.Stepper
	gather *live.Gatherer
}

// currentMatcher reads the Bridge's matcher on every call, so a character taught while live mode
// runs is named from the next frame on.
type currentMatcher struct{ b *Bridge }

func (c currentMatcher) Match(q []float32, k int) (pack.Result, error) { return c.b.match.Match(q, k) }
func (c currentMatcher) Threshold() float32                            { return c.b.match.Threshold() }

// LiveRequest is liveStart's request: Every (detect on every Every-th frame, 1..live.MaxEvery;
// 0: live.DefaultOptions), K answers per face in the vote, MaxFaces embedded per frame.
type LiveRequest struct {
	Every    int `json:"every,omitempty"`
	K        int `json:"k,omitempty"`
	MaxFaces int `json:"maxFaces,omitempty"`
}

// LiveStart (re)starts live mode, forgetting any tracks, and returns {"every", "k", "maxFaces"}.
func (b *Bridge) LiveStart(req []byte) []byte {
	if b.det == nil {
		return errorJSON(errNoDetector)
	}
	var r LiveRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: liveStart request: %w", err))
	}
	opt := live.DefaultOptions()
	opt.FlatEdge = b.id.Search().FlatEdge // the same flat gate as the click search and identifyAll
	if r.Every != 0 {
		opt.Every = r.Every
	}
	if r.K != 0 {
		opt.K = r.K
	}
	if r.MaxFaces != 0 {
		opt.MaxFaces = r.MaxFaces
	}
	st, err := live.New(b.det, b.emb, currentMatcher{b}, opt)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	b.lv.step = st
	return mustJSON(LiveRequest{Every: opt.Every, K: opt.K, MaxFaces: opt.MaxFaces})
}

var errNoLive = errors.New("bridge: live mode not started (liveStart)")

// LiveFrame runs one frame (RGBA, stride 4*w, at t ms on the video's clock) and returns the JSON
// of live.Frame: every shown face with its track id, box and label (name or "?"). An earlier t
// than the last frame's means a seek back: the tracks start over. Empty pix on a frame the
// detector skips (LiveWants) moves the boxes by the tracker alone.
func (b *Bridge) LiveFrame(pix []byte, w, h int, t float64) []byte {
	if b.lv.step == nil {
		return errorJSON(errNoLive)
	}
	if len(pix) == 0 {
		pix = nil
	}
	f, err := b.lv.step.Step(pix, w, h, t)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	return mustJSON(f)
}

// LiveWants answers {"pixels": true} when a frame at t ms would run the detector: the worker asks
// before it reads a frame's pixels, and skips the read on the frames between.
func (b *Bridge) LiveWants(t float64) []byte {
	if b.lv.step == nil {
		return errorJSON(errNoLive)
	}
	return mustJSON(struct {
		Pixels bool `json:"pixels"`
	}{b.lv.step.WillDetect(t)})
}

// LiveStop ends live mode (a later LiveFrame is an error until LiveStart) and returns {}.
func (b *Bridge) LiveStop() []byte {
	b.lv.step = nil
	return []byte("{}")
}

// GatherRequest is gatherStart's request: the paused frame's time and the clicked face's box
// (x, y, w, h in the pixels sent).
type GatherRequest struct {
	T   float64    `json:"t"`
	Box [4]float64 `json:"box"`
}

// GatherStart begins gathering a face's crops on the paused frame and returns the JSON of
// live.Gathered for it (its crop is kept as index 0); any earlier gathering is dropped.
func (b *Bridge) GatherStart(pix []byte, w, h int, req []byte) []byte {
	if b.det == nil {
		return errorJSON(errNoDetector)
	}
	var r GatherRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: gatherStart request: %w", err))
	}
	b.lv.gather = nil
	g, out, err := live.NewGatherer(b.det, b.emb, pix, w, h, r.T, r.Box, live.DefaultGatherOptions())
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	b.lv.gather = g
	return mustJSON(out)
}

var errNoGather = errors.New("bridge: no gathering started (gatherStart)")

// GatherFrame looks for the face in one more frame (t ms: after the paused frame's time it is
// the forward pass, before it the backward one) and returns the JSON of live.Gathered: when
// "keep" is >= 0 the worker stores that frame's crop under that index.
func (b *Bridge) GatherFrame(pix []byte, w, h int, t float64) []byte {
	if b.lv.gather == nil {
		return errorJSON(errNoGather)
	}
	if math.IsNaN(t) {
		return errorJSON(errors.New("bridge: gatherFrame: time is NaN"))
	}
	out, err := b.lv.gather.Add(pix, w, h, t)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	return mustJSON(out)
}

// GatherDone ends the gathering and returns the JSON of live.Summary: the kept crops to teach
// ("picked", at most MaxTaughtExamples, spread over the face's poses) and the seconds of video
// they came from.
func (b *Bridge) GatherDone() []byte {
	if b.lv.gather == nil {
		return errorJSON(errNoGather)
	}
	s := b.lv.gather.Pick(MaxTaughtExamples)
	b.lv.gather = nil
	return mustJSON(s)
}
