package bridge

import (
	"fmt"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// A Session is one loaded model + downloaded pack (+ taught characters) behind a Bridge.
type Session struct {
	*Bridge
	info  model.Info
	pack  *pack.Pack
	user  int
	build string
}

// Load decodes the model and the pack from the bytes the worker fetched and verified (files maps
// each shard's file name to its bytes; the pack decoder checks every shard's size and sha256
// again, and refuses another model's pack); build names the wasm build (e.g. "simd") for Info.
func Load(modelBytes, manifest []byte, files map[string][]byte, build string) (*Session, error) {
	m, err := model.Load(modelBytes)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	info := m.Info()
	if info.Kind != model.KindEmbedder {
		// A detector file would otherwise fail later as "pack built for another model".
		return nil, fmt.Errorf("bridge: %w", model.ErrNotEmbedder)
	}
	p, err := pack.OpenBytes(manifest, files, pack.OpenOptions{ModelSHA256: info.SHA256})
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if p.Dim != info.EmbedDim {
		return nil, fmt.Errorf("bridge: pack %q has %d-value embeddings, model has %d", p.Name, p.Dim, info.EmbedDim)
	}
	pm, err := pack.NewMatcher(p)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return &Session{Bridge: New(m, pm, identify.DefaultSearch()), info: info, pack: p, build: build}, nil
}

// SessionInfo is what the worker learns at load time.
type SessionInfo struct {
	Bridge int    `json:"bridge"`
	Build  string `json:"build"`
	Model  struct {
		SHA256   string `json:"sha256"`
		InputW   int    `json:"inputW"`
		InputH   int    `json:"inputH"`
		EmbedDim int    `json:"embedDim"`
		Mirror   bool   `json:"mirror"` // mirror-averaged embeddings: two network passes per crop
	} `json:"model"`
	Pack PackInfo `json:"pack"`
	User int      `json:"user"`
	// Limits bound what enroll may store (MaxTaughtName, MaxTaughtExamples, MaxTaughtChars).
	Limits Limits `json:"limits"`
	// Search is the click search (identify.Search): the page sends only the pixels within Extent
	// (times the image's shorter side) of a click.
	Search struct {
		Extent    float64   `json:"extent"`
		Scales    []float64 `json:"scales"`
		Confident float32   `json:"confident"`
	} `json:"search"`
}

// PackInfo describes the downloaded pack.
type PackInfo struct {
	Name       string  `json:"name"`
	Characters int     `json:"characters"`
	Rows       int     `json:"rows"`
	Threshold  float32 `json:"threshold"`
	Calibrated bool    `json:"calibrated"`
	FAR        float64 `json:"far"`
}

// Info returns SessionInfo as JSON.
func (s *Session) Info() []byte {
	var si SessionInfo
	si.Bridge = Version
	si.Build = s.build
	si.Model.SHA256 = s.info.SHA256
	si.Model.InputW, si.Model.InputH, si.Model.EmbedDim = s.info.InputW, s.info.InputH, s.info.EmbedDim
	si.Model.Mirror = s.info.Mirror
	si.Pack = PackInfo{
		Name: s.pack.Name, Characters: len(s.pack.Labels), Rows: s.pack.Rows(),
		Threshold: s.pack.Threshold, Calibrated: s.pack.ThresholdCalibrated, FAR: s.pack.ThresholdFAR,
	}
	si.User = s.user
	si.Limits = TaughtLimits()
	search := s.id.Search()
	si.Search.Extent = search.Extent()
	si.Search.Scales = search.Scales
	si.Search.Confident = search.Confident
	return mustJSON(si)
}
