package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/toonid/toonid/live"
)

// movedScene is scene() with the red square dx pixels to the right.
func movedScene(dx int) ([]byte, int, int) {
	w, h := 400, 300
	pix := make([]byte, 4*w*h)
	for y := range h {
		for x := range w {
			c := [4]byte{128, 128, 128, 255}
			if x >= 100+dx && x < 200+dx && y >= 100 && y < 200 {
				c = [4]byte{255, 0, 0, 255}
			}
			copy(pix[4*(y*w+x):], c[:])
		}
	}
	return pix, w, h
}

func TestLiveFramesCarryTheTracksLabel(t *testing.T) {
	s, _ := testSession(t)
	pix, w, h := movedScene(0)
	if e := errorOf(s.LiveFrame(pix, w, h, 0)); !strings.Contains(e, "liveStart") {
		t.Fatalf("before liveStart: %q", e)
	}
	if e := errorOf(s.LiveStart([]byte(`{}`))); !strings.Contains(e, "no detector") {
		t.Fatalf("liveStart before setDetector: %q", e)
	}
	if e := errorOf(s.SetDetector(redDetectorFile(t))); e != "" {
		t.Fatal(e)
	}
	for _, bad := range []string{`{"every":0.5}`, `{"every":99}`, `[`} {
		if e := errorOf(s.LiveStart([]byte(bad))); e == "" {
			t.Errorf("liveStart %s accepted", bad)
		}
	}
	var opts LiveRequest
	if err := json.Unmarshal(s.LiveStart([]byte(`{"every":2}`)), &opts); err != nil || opts.Every != 2 || opts.K != live.DefaultOptions().K {
		t.Fatalf("liveStart: %+v %v", opts, err)
	}
	var id uint64
	for f := range 8 {
		pix, w, h := movedScene(10 * f)
		var fr live.Frame
		if err := json.Unmarshal(s.LiveFrame(pix, w, h, float64(40*f)), &fr); err != nil {
			t.Fatal(err)
		}
		if fr.Detected != (f%2 == 0) {
			t.Fatalf("frame %d: detected %v with every 2", f, fr.Detected)
		}
		if f < 3 {
			continue
		}
		if len(fr.Faces) != 1 || fr.Faces[0].Label != "Red" || (id != 0 && fr.Faces[0].ID != id) {
			t.Fatalf("frame %d: %+v, want one Red face on one track", f, fr.Faces)
		}
		id = fr.Faces[0].ID
		// The test detector's boxes sit on its 50-px cells: the box is on the square, not at its corner.
		if x := fr.Faces[0].Box[0]; x < 100+10*float64(f)-50 || x > 200+10*float64(f) {
			t.Errorf("frame %d: box %v off the square at x %d..%d", f, fr.Faces[0].Box, 100+10*f, 200+10*f)
		}
	}
	if e := errorOf(s.LiveFrame(pix[:8], w, h, 400)); e == "" {
		t.Error("short pixels accepted")
	}
	s.LiveStop()
	if e := errorOf(s.LiveFrame(pix, w, h, 440)); e == "" {
		t.Error("a frame after liveStop accepted")
	}
}

func TestGatherThroughTheBridge(t *testing.T) {
	s, _ := testSession(t)
	if e := errorOf(s.GatherFrame(nil, 0, 0, 0)); !strings.Contains(e, "gatherStart") {
		t.Fatalf("before gatherStart: %q", e)
	}
	if e := errorOf(s.SetDetector(redDetectorFile(t))); e != "" {
		t.Fatal(e)
	}
	pix, w, h := movedScene(50)
	var g live.Gathered
	if err := json.Unmarshal(s.GatherStart(pix, w, h, []byte(`{"t":1000,"box":[150,100,50,50]}`)), &g); err != nil || !g.Found || g.Keep != 0 {
		t.Fatalf("gatherStart: %+v %v", g, err)
	}
	if e := errorOf(s.GatherStart(pix, w, h, []byte(`{"t":1000,"box":[900,100,50,50]}`))); e == "" {
		t.Fatal("a box off the frame accepted")
	}
	if e := errorOf(s.GatherFrame(pix, w, h, 1100)); !strings.Contains(e, "gatherStart") {
		t.Fatalf("a refused gatherStart left the old gathering: %q", e)
	}
	s.GatherStart(pix, w, h, []byte(`{"t":1000,"box":[150,100,50,50]}`))
	for i, dx := range []int{60, 70, 40, 30} {
		tm := []float64{1100, 1200, 900, 800}[i]
		p, w, h := movedScene(dx)
		if err := json.Unmarshal(s.GatherFrame(p, w, h, tm), &g); err != nil || !g.Found {
			t.Fatalf("%v ms: %+v %v", tm, g, err)
		}
	}
	var sum live.Summary
	if err := json.Unmarshal(s.GatherDone(), &sum); err != nil || sum.Kept < 1 || len(sum.Picked) < 1 || sum.Seconds != 0.4 {
		t.Fatalf("gatherDone: %+v %v", sum, err)
	}
	if e := errorOf(s.GatherDone()); e == "" {
		t.Error("a second gatherDone answered")
	}
}
