package bridge

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/pack"
)

// colourEmbedder stands in for the model: the embedding of a crop is its mean colour plus a
// constant, so which crop matches which character is known in advance.
type colourEmbedder struct{ calls, crops int }

func (c *colourEmbedder) Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error) {
	if !box.In(image.Rect(0, 0, w, h)) || box.Empty() {
		return nil, fmt.Errorf("box %v outside %dx%d", box, w, h)
	}
	var s [3]float64
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			for ch := range 3 {
				s[ch] += float64(pix[y*stride+4*x+ch])
			}
		}
	}
	n := float64(box.Dx() * box.Dy() * 255)
	return []float32{float32(s[0] / n), float32(s[1] / n), float32(s[2] / n), 0.1}, nil
}

func (c *colourEmbedder) EmbedBatch(in [][]float32) ([][]float32, error) {
	c.calls++
	c.crops += len(in)
	out := make([][]float32, len(in))
	for i, v := range in {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out[i] = make([]float32, len(v))
		for j, x := range v {
			out[i][j] = float32(float64(x) / math.Sqrt(n))
		}
	}
	return out, nil
}

const testSHA = "0000000000000000000000000000000000000000000000000000000000000001"

func testPack(t testing.TB) *pack.Pack {
	t.Helper()
	labels := []pack.Label{{ID: "red", Name: "Red", Series: "Colours"}, {ID: "blue", Name: "Blue", Series: "Colours"}}
	embs := [][][]float32{{{1, 0, 0, 0.1}}, {{0, 0, 1, 0.1}}}
	p, err := pack.Build(labels, embs, pack.BuildOptions{Name: "test", ModelSHA256: testSHA, Threshold: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testSession(t testing.TB) (*Session, *colourEmbedder) {
	return testSessionWith(t, identify.DefaultSearch())
}

func testSessionWith(t testing.TB, search identify.Search) (*Session, *colourEmbedder) {
	t.Helper()
	p := testPack(t)
	m, err := pack.NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	e := &colourEmbedder{}
	search.FlatEdge = 0 // the scene is flat colour (see identify's testIdentifier)
	return &Session{Bridge: New(e, m, search), pack: p}, e
}

// scene is a grey 400x300 image with a red 100x100 square at (200, 100).
func scene() ([]byte, int, int) {
	w, h := 400, 300
	pix := make([]byte, 4*w*h)
	for y := range h {
		for x := range w {
			c := [4]byte{128, 128, 128, 255}
			if x >= 200 && x < 300 && y >= 100 && y < 200 {
				c = [4]byte{255, 0, 0, 255}
			}
			copy(pix[4*(y*w+x):], c[:])
		}
	}
	return pix, w, h
}

func decode(t testing.TB, b []byte) identify.Reply {
	t.Helper()
	var r struct {
		identify.Reply
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	if r.Error != "" {
		t.Fatalf("error reply: %s", r.Error)
	}
	return r.Reply
}

func TestIdentifyBoxAndUnknown(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := scene()
	// A grey crop scores below the 0.9 threshold against both colours.
	r := decode(t, s.Identify(pix, w, h, []byte(`{"box":[10,10,80,80]}`)))
	if !r.Unknown || r.Box != [4]int{10, 10, 80, 80} || r.Candidates != 1 || r.Threshold != 0.9 {
		t.Fatalf("grey box: %+v, want unknown with the given box", r)
	}
}

// A click search's parts travel as JSON: the coarse stage's share with its crop's index, the
// refine stage around a box; a malformed part or refine box is refused.
func TestIdentifyParts(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := scene()
	whole := decode(t, s.Identify(append([]byte(nil), pix...), w, h, []byte(`{"click":{"x":250,"y":150,"unit":300},"k":2}`)))
	var best identify.Reply
	for i := range 2 {
		r := decode(t, s.Identify(append([]byte(nil), pix...), w, h, []byte(fmt.Sprintf(`{"click":{"x":250,"y":150,"unit":300},"k":2,"part":{"index":%d,"of":2}}`, i))))
		if r.Index < 0 || r.Index%2 != i {
			t.Fatalf("part %d: crop index %d", i, r.Index)
		}
		if r.Score > best.Score || best.Answers == nil {
			best = r
		}
	}
	ref := fmt.Sprintf(`{"refine":[%d,%d,%d,%d],"k":2,"part":{"index":0,"of":2}}`, best.Box[0], best.Box[1], best.Box[2], best.Box[3])
	if r := decode(t, s.Identify(append([]byte(nil), pix...), w, h, []byte(ref))); r.Candidates == 0 {
		t.Fatalf("refine part: %+v", r)
	}
	if !best.Confident || best.Box != whole.Box || best.Score != whole.Score {
		t.Fatalf("best part %+v, whole search %+v: the red square is a confident coarse answer", best, whole)
	}
	// A part with no crop of a stage (7 parts of 4 coarse or at most 6 refine crops) is an empty
	// reply, not an error (JSON has no -Inf): the page skips it by its index.
	for _, req := range []string{
		`{"click":{"x":250,"y":150,"unit":300},"part":{"index":5,"of":7}}`,
		`{"refine":[200,100,100,100],"part":{"index":6,"of":7}}`,
	} {
		if r := decode(t, s.Identify(append([]byte(nil), pix...), w, h, []byte(req))); r.Index != -1 || !r.Unknown || r.Candidates != 0 || len(r.Answers) != 0 {
			t.Errorf("%s: %+v, want an empty part", req, r)
		}
	}
	for _, bad := range []string{
		`{"click":{"x":250,"y":150,"unit":300},"part":{"index":2,"of":2}}`,
		`{"refine":[1,2,3],"part":{"index":0,"of":2}}`,
		`{"refine":[10,10,40,40]}`,
	} {
		if !strings.Contains(string(s.Identify(append([]byte(nil), pix...), w, h, []byte(bad))), `"error"`) {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestSetUserTeachesACharacter(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := scene()
	var e struct {
		Embedding []float32 `json:"embedding"`
	}
	crop := make([]byte, 4*20*20)
	for i := range crop {
		crop[i] = 128
	}
	if err := json.Unmarshal(s.Embed(crop, 20, 20), &e); err != nil || len(e.Embedding) != 4 {
		t.Fatalf("embed: %v %v", e, err)
	}
	chars, _ := json.Marshal([]UserChar{{ID: "user:1", Name: "Grey", Series: "taught", Embeddings: [][]float32{e.Embedding}}})
	if got := string(s.SetUser(chars)); got != `{"user":1}` {
		t.Fatalf("SetUser: %s", got)
	}
	r := decode(t, s.Identify(pix, w, h, []byte(`{"click":{"x":40,"y":40,"unit":300}}`)))
	if r.Unknown || r.Answers[0].Name != "Grey" {
		t.Fatalf("after teaching: %+v", r.Answers)
	}
	// Forgetting everyone brings back the pack alone.
	s.SetUser([]byte(`[]`))
	r = decode(t, s.Identify(pix, w, h, []byte(`{"click":{"x":40,"y":40,"unit":300}}`)))
	if !r.Unknown {
		t.Fatalf("after forgetting: %+v", r)
	}
}

// An embedding flagged exact is a sub-centre of its own: matched as it is, where averaged with
// the character's other examples it would score far lower; an old record (no flags) builds as before.
func TestUserPackKeepsExactEmbeddings(t *testing.T) {
	views := [][]float32{{1, 0.1, 0, 0}, {1, 0, 0.1, 0}, {1, -0.1, 0, 0}, {1, 0, -0.1, 0}, {1, 0.1, 0.1, 0}}
	face := []float32{0.3, 0, 0, 1}
	score := func(c UserChar) float32 {
		up, err := UserPack([]UserChar{c}, "m", 4)
		if err != nil {
			t.Fatal(err)
		}
		m, err := pack.NewMatcher(up)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Match(face, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r.Answers[0].Score
	}
	all := append(append([][]float32(nil), views...), face)
	averaged := score(UserChar{ID: "user:a", Name: "A", Embeddings: all})
	kept := score(UserChar{ID: "user:a", Name: "A", Embeddings: all, Exact: []bool{false, false, false, false, false, true}})
	if kept < 0.98 || averaged > kept-0.1 {
		t.Errorf("the face's own score: %.3f kept exact, %.3f averaged in", kept, averaged)
	}
}

func TestBadRequestsAreErrors(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := scene()
	for _, tc := range []struct {
		name string
		pix  []byte
		w, h int
		req  string
		want string
	}{
		{"not json", pix, w, h, `{`, "identify request"},
		{"nothing", pix, w, h, `{}`, "needs a click or"},
		{"both", pix, w, h, `{"click":{"x":1,"y":1,"unit":9},"box":[0,0,5,5]}`, "not both"},
		{"click outside", pix, w, h, `{"click":{"x":400,"y":1,"unit":300}}`, "outside"},
		{"zero unit", pix, w, h, `{"click":{"x":4,"y":1,"unit":0}}`, "unit"},
		{"box outside", pix, w, h, `{"box":[350,10,80,80]}`, "not inside"},
		{"three-number box", pix, w, h, `{"box":[0,0,5]}`, "want 4 numbers"},
		{"empty box", pix, w, h, `{"box":[10,10,0,80]}`, "not inside"},
		{"short pixels", pix[:100], w, h, `{"box":[0,0,5,5]}`, "bytes of RGBA"},
		{"huge image", nil, 1 << 20, 1 << 20, `{"box":[0,0,5,5]}`, "at most"},
		{"negative size", nil, -4, 3, `{"box":[0,0,5,5]}`, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r struct{ Error string }
			if err := json.Unmarshal(s.Identify(tc.pix, tc.w, tc.h, []byte(tc.req)), &r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Error, tc.want) {
				t.Errorf("error %q, want it to mention %q", r.Error, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, chars, want string }{
		{"not json", `[`, "taught characters"},
		{"foreign id", `[{"id":"sintel","name":"x","embeddings":[[1,0,0,0]]}]`, "must start with"},
		{"wrong dim", `[{"id":"user:a","name":"x","embeddings":[[1,0]]}]`, "model has 4"},
		{"no embeddings", `[{"id":"user:a","name":"x","embeddings":[]}]`, "no embeddings"},
		{"empty name", `[{"id":"user:a","name":"  ","embeddings":[[1,0,0,0]]}]`, "name of 0 characters, want 1..80"},
		{"long name", `[{"id":"user:a","name":"` + strings.Repeat("é", MaxTaughtName+1) + `","embeddings":[[1,0,0,0]]}]`, "name of 81 characters"},
		{"too many examples", `[{"id":"user:a","name":"x","embeddings":[` + strings.Repeat(`[1,0,0,0],`, MaxTaughtExamples) + `[1,0,0,0]]}]`, "33 examples, limit 32"},
		{"exact flags", `[{"id":"user:a","name":"x","embeddings":[[1,0,0,0]],"exact":[true,false]}]`, "2 exact flags for 1 embeddings"},
	} {
		t.Run("setUser "+tc.name, func(t *testing.T) {
			if got := string(s.SetUser([]byte(tc.chars))); !strings.Contains(got, tc.want) {
				t.Errorf("SetUser: %s, want it to mention %q", got, tc.want)
			}
		})
	}
}

func FuzzIdentifyRequest(f *testing.F) {
	for _, seed := range []string{`{"click":{"x":250,"y":150,"unit":300}}`, `{"box":[1,2,30,40],"k":3}`, `{"k":-1}`, `{"click":{"x":1e308,"y":-0,"unit":1e-308}}`,
		`{"click":{"x":25,"y":15,"unit":30},"part":{"index":1,"of":2}}`, `{"refine":[1,2,30,25],"part":{"index":0,"of":3}}`,
		`{"refine":[9223372036854775807,1,9223372036854775807,1],"part":{"index":0,"of":1}}`} {
		f.Add([]byte(seed), 40, 30)
	}
	s, _ := testSession(f)
	f.Fuzz(func(t *testing.T, req []byte, w, h int) {
		if w*h > 1<<16 || w < 0 || h < 0 {
			w, h = 40, 30
		}
		pix := make([]byte, 4*max(w, 0)*max(h, 0))
		b := s.Identify(pix, w, h, req)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON reply %q", b)
		}
	})
}

// views answers the page's teach step with identify.Search.Views of the answer's box, rounded to
// whole pixels of the source image.
func TestViews(t *testing.T) {
	s, _ := testSession(t)
	var r struct {
		Views [][4]int `json:"views"`
		Error string   `json:"error"`
	}
	if err := json.Unmarshal(s.Views([]byte(`{"box":[99.6,80.2,100.1,99.8],"w":400,"h":300}`)), &r); err != nil || r.Error != "" {
		t.Fatalf("views: %v %s", err, r.Error)
	}
	want := identify.DefaultSearch().Views(image.Rect(100, 80, 200, 180), 400, 300)
	if len(r.Views) != len(want) {
		t.Fatalf("views %v, want %v", r.Views, want)
	}
	for i, v := range r.Views {
		if w := want[i]; v != [4]int{w.Min.X, w.Min.Y, w.Dx(), w.Dy()} {
			t.Errorf("view %d: %v, want %v", i, v, w)
		}
	}
	for _, tc := range []struct{ name, req, want string }{
		{"not json", `{`, "views request"},
		{"no box", `{"w":400,"h":300}`, "want 4 numbers"},
		{"no size", `{"box":[0,0,10,10]}`, "at most"},
		{"off the image", `{"box":[500,0,10,10],"w":400,"h":300}`, "not on the"},
		{"empty", `{"box":[10,10,0,10],"w":400,"h":300}`, "not on the"},
		{"huge", `{"box":[1e300,0,10,10],"w":400,"h":300}`, "finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(s.Views([]byte(tc.req))); !strings.Contains(got, tc.want) {
				t.Errorf("views %s: %s, want it to mention %q", tc.req, got, tc.want)
			}
		})
	}
}

// The worker's enroll checks read the limits from the session info, so they are UserPack's.
func TestInfoCarriesTheTaughtLimits(t *testing.T) {
	s, _ := testSession(t)
	var si SessionInfo
	if err := json.Unmarshal(s.Info(), &si); err != nil {
		t.Fatal(err)
	}
	if si.Bridge != Version || si.Limits != (Limits{Name: MaxTaughtName, Examples: MaxTaughtExamples, Characters: MaxTaughtChars}) {
		t.Fatalf("info: bridge %d limits %+v", si.Bridge, si.Limits)
	}
}

// The worker asks the bridge, not its own rule, before it stores a taught character: names JS
// String.trim() keeps but strings.TrimSpace strips (U+0085) were stored and then refused by
// UserPack on every later load. checkName normalizes by Go's rule; checkUser is SetUser's dry run.
func TestCheckNameAndCheckUserAreSetUsersRules(t *testing.T) {
	s, _ := testSession(t)
	for _, tc := range []struct{ name, want, err string }{
		{"\u0085", "", "name of 0 characters"},
		{" \u0085Ann\u00a0\t", "Ann", ""},
		{strings.Repeat("😀", MaxTaughtName), strings.Repeat("😀", MaxTaughtName), ""}, // 160 UTF-16 units, 80 code points
		{strings.Repeat("😀", MaxTaughtName+1), "", "name of 81 characters"},
	} {
		var r struct{ Name, Error string }
		if err := json.Unmarshal(s.CheckName(tc.name), &r); err != nil {
			t.Fatal(err)
		}
		if r.Name != tc.want || !strings.Contains(r.Error, tc.err) || (tc.err == "") != (r.Error == "") {
			t.Errorf("checkName %q: %+v, want name %q error %q", tc.name, r, tc.want, tc.err)
		}
	}
	before := s.Info()
	bad := `[{"id":"user:a","name":"\u0085","embeddings":[[1,0,0,0]]}]`
	if got := string(s.CheckUser([]byte(bad))); !strings.Contains(got, "name of 0 characters") {
		t.Errorf("checkUser %s: %s", bad, got)
	}
	good := `[{"id":"user:a","name":"Ann","embeddings":[[1,0,0,0]]}]`
	if got := string(s.CheckUser([]byte(good))); got != `{"user":1}` {
		t.Errorf("checkUser %s: %s", good, got)
	}
	if after := s.Info(); string(after) != string(before) {
		t.Errorf("checkUser changed the session: %s, was %s", after, before)
	}
	for _, chars := range []string{bad, good, `[`} { // the same verdict as SetUser
		c, u := string(s.CheckUser([]byte(chars))), string(s.SetUser([]byte(chars)))
		if strings.Contains(c, "error") != strings.Contains(u, "error") {
			t.Errorf("%s: checkUser %s but setUser %s", chars, c, u)
		}
	}
}
