package main

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/pack"
)

func buildTestPack(t *testing.T, mdl, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "colours")
	if code, _, errs := cli("pack", "build", "-gallery", filepath.Join(dir, "gallery.tsv"), "-o", out, "-model", mdl, "-threshold", "0.9"); code != 0 {
		t.Fatalf("build: %s", errs)
	}
	return out
}

func TestIdentify(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	pk := buildTestPack(t, mdl, dir)
	for _, id := range []string{"red", "green", "blue", "yellow"} {
		// The probe (index 2) was not in the gallery.
		code, out, errs := cli("identify", "-pack", pk, "-model", mdl, "-k", "3", "-json", filepath.Join(dir, "img", id+"2.png"))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", id, code, errs)
		}
		var r pack.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v in %q", id, err, out)
		}
		if len(r.Answers) != 3 || r.Answers[0].ID != id || r.Answers[0].Score < r.Answers[1].Score {
			t.Errorf("%s: answers %+v", id, r.Answers)
		}
	}
	// -at runs the browser's click search; a click on the face of an unseen probe finds it too.
	for _, id := range []string{"red", "green", "blue", "yellow"} {
		code, out, errs := cli("identify", "-pack", pk, "-model", mdl, "-at", "16,14", "-json", filepath.Join(dir, "img", id+"2.png"))
		if code != 0 {
			t.Fatalf("-at %s: exit %d: %s", id, code, errs)
		}
		var r identify.Reply
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("-at %s: %v in %q", id, err, out)
		}
		if len(r.Answers) == 0 || r.Answers[0].ID != id || r.Candidates < 4 || r.Box[2] <= 0 || r.Box[2] != r.Box[3] {
			t.Errorf("-at %s: reply %+v", id, r)
		}
		if x, y := 16, 14; x < r.Box[0] || x >= r.Box[0]+r.Box[2] || y < r.Box[1] || y >= r.Box[1]+r.Box[3] {
			t.Errorf("-at %s: box %v misses the click", id, r.Box)
		}
	}
	code, out, _ := cli("identify", "-pack", pk, "-model", mdl, filepath.Join(dir, "img", "blue2.png"))
	if code != 0 || !strings.HasPrefix(out, "1\t") || !strings.Contains(out, "\tblue\tBlue\tColours") {
		t.Errorf("text output:\n%s", out)
	}
	// A white-on-magenta face is none of them; with threshold 1.0 the answer must be unknown.
	code, out, _ = cli("identify", "-pack", pk, "-model", mdl, "-box", "0,0,32,32", filepath.Join(dir, "img", "magenta.png"))
	if code != 0 {
		t.Fatal(out)
	}
	var r pack.Result
	_, js, _ := cli("identify", "-pack", pk, "-model", mdl, "-json", filepath.Join(dir, "img", "magenta.png"))
	json.Unmarshal([]byte(js), &r)
	if r.Unknown != (r.Answers[0].Score < 0.9) || r.Unknown != strings.HasPrefix(out, "unknown") {
		t.Errorf("unknown flag %v with best %.3f vs threshold 0.9; text %q", r.Unknown, r.Answers[0].Score, out)
	}
}

func TestIdentifyRejects(t *testing.T) {
	mdl := tinyModel(t, 1)
	other := tinyModel(t, 2)
	dir := testSet(t)
	pk := buildTestPack(t, mdl, dir)
	huge := filepath.Join(dir, "huge.png")
	b, _ := os.ReadFile(filepath.Join(dir, "img", "red0.png"))
	binary.BigEndian.PutUint32(b[16:], 200000)
	binary.BigEndian.PutUint32(b[20:], 200000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	os.WriteFile(huge, b, 0o644)
	img := filepath.Join(dir, "img", "red2.png")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"identify", "-pack", pk, "-model", other, img}, "another model"},
		{[]string{"identify", "-pack", pk, "-model", mdl, huge}, "over the limit"},
		{[]string{"identify", "-pack", t.TempDir(), "-model", mdl, img}, "manifest.json"},
		{[]string{"identify", "-pack", pk, "-model", mdl, "-k", "0", img}, "-k 0"},
		{[]string{"identify", "-model", mdl, img}, "-pack DIR is required"},
		{[]string{"identify", "-pack", pk, "-model", mdl, img, img}, "exactly one IMAGE, got 2"},
		{[]string{"identify", "-pack", pk, "-model", mdl, "-at", "12", img}, "want x,y"},
		{[]string{"identify", "-pack", pk, "-model", mdl, "-at", "1,1", "-box", "0,0,8,8", img}, "not both"},
		{[]string{"identify", "-pack", pk, "-model", mdl, "-at", "99,1", img}, "outside"},
	} {
		code, _, errs := cli(tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want failure mentioning %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestIdentifyAtChecksSearchSizeFirst: -at decoded the whole image (here a header claiming
// 5000x5000, 100 MB of RGBA) before the crop stage refused it for being over 4096·4096 pixels;
// now the header is checked against identify.CheckSize first.
func TestIdentifyAtChecksSearchSizeFirst(t *testing.T) {
	dir := testSet(t)
	huge := filepath.Join(dir, "wide.png")
	b, _ := os.ReadFile(filepath.Join(dir, "img", "red0.png"))
	binary.BigEndian.PutUint32(b[16:], 5000)
	binary.BigEndian.PutUint32(b[20:], 5000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	os.WriteFile(huge, b, 0o644)
	var err error
	got := allocated(func() { _, err = loadImageFor(huge, true) })
	if err == nil || !strings.Contains(err.Error(), "at most 16777216 pixels") {
		t.Fatalf("err = %v, want the crop stage's size limit", err)
	}
	if got > 256<<10 {
		t.Errorf("refusing allocated %d bytes", got)
	}
	mdl := tinyModel(t, 1)
	pk := buildTestPack(t, mdl, dir)
	if code, _, errs := cli("identify", "-pack", pk, "-model", mdl, "-at", "1,1", huge); code == 0 || !strings.Contains(errs, "16777216 pixels") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
