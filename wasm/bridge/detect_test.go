package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
)

// redDetectorFile is a detector file of one 1x1 stride-4 convolution: a cell fires where the
// red channel is above 3/4, with a 4-px box at its 32-px input (50 px on a 400-px-wide frame).
func redDetectorFile(t testing.TB) []byte {
	t.Helper()
	w := make([]float32, 15)
	w[0] = 20
	g := &model.Graph{InputC: 3, InputH: 32, InputW: 32, Std: [3]float32{1, 1, 1},
		Ops: []model.Op{{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 4, StrideW: 4, KH: 1, KW: 1,
			Weight: w, WeightShape: []int{5, 3, 1, 1}, Bias: []float32{-15, 0, 0, 0, 0}}}}
	b, err := model.Encode(g, model.EncodeOptions{Kind: model.KindDetector,
		Decode: model.DetectDecode{Scheme: model.DecodeCenter5, Threshold: 0.5, NMS: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorOf(b []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	json.Unmarshal(b, &r)
	return r.Error
}

func TestIdentifyAllNamesEveryFace(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := scene()
	if e := errorOf(s.IdentifyAll(pix, w, h, []byte(`{}`))); !strings.Contains(e, "no detector") {
		t.Fatalf("before SetDetector: %q", e)
	}
	if e := errorOf(s.SetDetector(redDetectorFile(t))); e != "" {
		t.Fatal(e)
	}
	// The red square's top-left cell is the one face (a 50-px box at its corner); its crop is
	// mostly red, so the red character is named.
	var all identify.AllReply
	if err := json.Unmarshal(s.IdentifyAll(append([]byte(nil), pix...), w, h, []byte(`{"k":2}`)), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Faces) != 1 {
		t.Fatalf("faces %+v", all.Faces)
	}
	f := all.Faces[0]
	if f.Box != [4]float32{200, 100, 50, 50} || f.Crop != [4]int{194, 94, 63, 63} || len(f.Answers) != 2 || f.Unknown || f.Answers[0].Name != "Red" {
		t.Fatalf("face %+v, want Red at [200 100 50 50] (crop [194 94 63 63]) with 2 answers", f)
	}
	var det struct {
		Faces []FaceBox `json:"faces"`
	}
	if err := json.Unmarshal(s.Detect(append([]byte(nil), pix...), w, h), &det); err != nil || len(det.Faces) != 1 || det.Faces[0].Box != f.Box {
		t.Fatalf("detect %+v %v, identifyAll box %v", det, err, f.Box)
	}
}

// Bad input: tiny or blank frames give no faces and no error; bad sizes and requests are errors.
func TestDetectBadInput(t *testing.T) {
	s, _ := testSession(t)
	if e := errorOf(s.SetDetector(redDetectorFile(t))); e != "" {
		t.Fatal(e)
	}
	grey := func(w, h int) []byte {
		p := make([]byte, 4*w*h)
		for i := range p {
			p[i] = 128
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		pix       []byte
		w, h      int
		req, want string // want: "" = no faces and no error
	}{
		{"tiny", grey(31, 31), 31, 31, `{}`, ""},
		{"blank", grey(640, 360), 640, 360, `{}`, ""},
		{"short buffer", make([]byte, 12), 64, 64, `{}`, "bytes of RGBA"},
		{"bad request", grey(64, 64), 64, 64, `{"k":"x"}`, "identifyAll request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.IdentifyAll(tc.pix, tc.w, tc.h, []byte(tc.req))
			if tc.want != "" {
				if e := errorOf(r); !strings.Contains(e, tc.want) {
					t.Fatalf("%s: %q, want an error with %q", r, e, tc.want)
				}
				return
			}
			var all struct {
				Faces []identify.Face `json:"faces"`
				Error string          `json:"error"`
			}
			if err := json.Unmarshal(r, &all); err != nil || all.Error != "" || all.Faces == nil || len(all.Faces) != 0 {
				t.Fatalf("reply %s, want \"faces\": [] and no error", r)
			}
			if d := string(s.Detect(tc.pix, tc.w, tc.h)); d != `{"faces":[]}` {
				t.Fatalf("detect %s", d)
			}
		})
	}
}

// A detector file where the embedder belongs, and the reverse, are refused with a clear error.
func TestModelKindsAreNotInterchangeable(t *testing.T) {
	if _, err := Load(shipped.Detector, []byte(`{}`), nil, "test"); err == nil || !strings.Contains(err.Error(), "detector, not an embedder") {
		t.Fatalf("detector as the embedder: %v", err)
	}
	s, _ := testSession(t)
	if e := errorOf(s.SetDetector(shipped.Model)); !strings.Contains(e, "embedder, not a detector") {
		t.Fatalf("embedder as the detector: %q", e)
	}
	if e := errorOf(s.SetDetector([]byte("TMDL nonsense"))); e == "" {
		t.Fatal("garbage accepted as a detector")
	}
	var info struct {
		Detector DetectorInfo `json:"detector"`
	}
	if err := json.Unmarshal(s.SetDetector(shipped.Detector), &info); err != nil || info.Detector.InputW == 0 || info.Detector.MaxFaces != identify.MaxFaces {
		t.Fatalf("shipped detector: %+v %v", info, err)
	}
}

// identifyFaces on a session without a detector (the browser's second worker) names the boxes
// another session's detect found exactly as that session's identifyAll names them: the same
// boxes, crops, answers and scores.
func TestIdentifyFacesMatchesIdentifyAll(t *testing.T) {
	primary, _ := testSession(t)
	if e := errorOf(primary.SetDetector(redDetectorFile(t))); e != "" {
		t.Fatal(e)
	}
	secondary, _ := testSession(t)
	pix, w, h := scene()
	var all identify.AllReply
	if err := json.Unmarshal(primary.IdentifyAll(append([]byte(nil), pix...), w, h, []byte(`{"k":3}`)), &all); err != nil || len(all.Faces) == 0 {
		t.Fatalf("identifyAll %+v %v", all, err)
	}
	det := primary.Detect(append([]byte(nil), pix...), w, h)
	req := strings.Replace(string(det), `{"faces":`, `{"k":3,"faces":`, 1)
	var got FacesReply
	if err := json.Unmarshal(secondary.IdentifyFaces(append([]byte(nil), pix...), w, h, []byte(req)), &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(all.Faces)
	b, _ := json.Marshal(got.Faces)
	if string(a) != string(b) {
		t.Fatalf("identifyFaces %s\nidentifyAll   %s", b, a)
	}
	for _, tc := range []struct{ req, want string }{
		{`{"faces":[{"box":[-10,0,20,20]}]}`, "not inside"},
		{`{"faces":"x"}`, "identifyFaces request"},
		{`{"faces":[{"box":[1,2,3]}]}`, "not inside"}, // a short box reads as zeros: no height
	} {
		if e := errorOf(secondary.IdentifyFaces(append([]byte(nil), pix...), w, h, []byte(tc.req))); !strings.Contains(e, tc.want) {
			t.Errorf("%s: %q, want an error with %q", tc.req, e, tc.want)
		}
	}
	if r := string(secondary.IdentifyFaces(pix, w, h, []byte(`{"faces":[]}`))); !strings.HasPrefix(r, `{"faces":[],`) {
		t.Errorf("no boxes: %s", r)
	}
}
