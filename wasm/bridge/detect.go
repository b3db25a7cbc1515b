package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
)

// The worker downloads the detector after the embedder and the pack (the first click must not
// wait for it) and hands it over with SetDetector; until then detect and identifyAll answer
// with errNoDetector, which the worker never shows: it waits for the download instead.
var errNoDetector = errors.New("bridge: no detector loaded")

// DetectorInfo describes the loaded detector (SetDetector's reply).
type DetectorInfo struct {
	SHA256    string  `json:"sha256"`
	InputW    int     `json:"inputW"`
	Threshold float32 `json:"threshold"`
	MaxFaces  int     `json:"maxFaces"` // identifyAll names at most this many faces (identify.MaxFaces)
	// DoubtfulScore: identifyAll leaves out faces no character matches under this detector
	// score (identify.DoubtfulScore).
	DoubtfulScore float32 `json:"doubtfulScore"`
}

// SetDetector loads a detector model file (bytes the worker fetched and verified) and returns
// {"detector": DetectorInfo}; an embedder file, or anything model.Load refuses, is an error
// reply and leaves the session as it was.
func (b *Bridge) SetDetector(file []byte) []byte {
	d, err := detect.Load(file)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: detector: %w", err))
	}
	b.det = d
	info := d.Info()
	return mustJSON(struct {
		Detector DetectorInfo `json:"detector"`
	}{DetectorInfo{SHA256: info.SHA256, InputW: info.InputW, Threshold: d.Threshold, MaxFaces: identify.MaxFaces, DoubtfulScore: identify.DoubtfulScore}})
}

// FaceBox is one box of a detect reply: x, y, width, height in the pixels sent, and the
// detector's score in [0, 1].
type FaceBox struct {
	Box   [4]float32 `json:"box"`
	Score float32    `json:"score"`
}

// Detect returns the faces of an RGBA frame (stride 4*w) as JSON {"faces": [FaceBox...]}, best
// first; a tiny or blank frame gives none.
func (b *Bridge) Detect(pix []byte, w, h int) []byte {
	if b.det == nil {
		return errorJSON(errNoDetector)
	}
	boxes, err := identify.Detect(pix, w, h, b.det)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	out := make([]FaceBox, len(boxes))
	for i, x := range boxes {
		out[i] = FaceBox{Box: [4]float32{x.X, x.Y, x.W, x.H}, Score: x.Score}
	}
	return mustJSON(struct {
		Faces []FaceBox `json:"faces"`
	}{out})
}

// AllRequest is the protocol's identifyAll request: k answers per face at most.
type AllRequest struct {
	K int `json:"k,omitempty"`
}

// IdentifyAll detects every face of an RGBA frame and names each (identify.IdentifyAll, what
// `toonid identify -all` runs) in one call; the reply is the JSON of identify.AllReply.
func (b *Bridge) IdentifyAll(pix []byte, w, h int, req []byte) []byte {
	if b.det == nil {
		return errorJSON(errNoDetector)
	}
	var r AllRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: identifyAll request: %w", err))
	}
	rep, err := b.id.IdentifyAll(pix, w, h, b.det, r.K)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	return mustJSON(rep)
}

// FacesRequest is the protocol's identifyFaces request: face boxes of a frame as a detect reply
// gives them (at most identify.MaxFaces), k answers per face at most.
type FacesRequest struct {
	Faces []FaceBox `json:"faces"`
	K     int       `json:"k,omitempty"`
}

// FacesReply is identifyFaces' answer: one identify.Face per box, in the order asked.
type FacesReply struct {
	Faces []identify.Face `json:"faces"`
	MS    float64         `json:"ms"`
}

// IdentifyFaces names face boxes that Detect found on the same RGBA frame (identify.NameFaces:
// the crops and scores IdentifyAll gives those faces), so a worker that did not detect can name
// a share of them; it needs no detector. The reply is the JSON of FacesReply.
func (b *Bridge) IdentifyFaces(pix []byte, w, h int, req []byte) []byte {
	t0 := time.Now()
	var r FacesRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return errorJSON(fmt.Errorf("bridge: identifyFaces request: %w", err))
	}
	boxes := make([]detect.Box, len(r.Faces))
	for i, f := range r.Faces {
		boxes[i] = detect.Box{X: f.Box[0], Y: f.Box[1], W: f.Box[2], H: f.Box[3], Score: f.Score}
	}
	faces, err := b.id.NameFaces(pix, w, h, boxes, r.K)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: %w", err))
	}
	return mustJSON(FacesReply{Faces: faces, MS: float64(time.Since(t0).Microseconds()) / 1000})
}
