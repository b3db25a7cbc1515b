package collect

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/toonid/toonid/tools/eval"
)

// snapshot maps every file under dir (relative, "/"-separated) to its contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			m[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return m
}

// noTempLeft fails when a temporary apply folder is left next to out.
func noTempLeft(t *testing.T, out string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".apply-") {
			t.Errorf("temporary folder %s left next to the output", e.Name())
		}
	}
}

// applySetup proposes over two characters and returns the proposals, the labels naming both
// clusters, the labels naming only the owls, and an output folder that does not exist yet.
func applySetup(t *testing.T) (p *Proposals, both, owls, out, src string) {
	src = twoCharacters(t)
	_, review := propose(t, src, Options{Grid: []int{1}})
	p, err := ReadProposals(os.DirFS(review))
	if err != nil {
		t.Fatal(err)
	}
	both = pageLabels(t, p, byCharacter, nil)
	owls = pageLabels(t, p, func(c Cluster) string {
		if byCharacter(c) == "Owl" {
			return "Owl"
		}
		return ""
	}, nil)
	return p, both, owls, filepath.Join(t.TempDir(), "gallery"), src
}

// TestApplyKeepsFilesItDidNotWrite: a second apply into the same folder used to remove the
// whole crops/ folder first, hand-made files included. Now it replaces and removes only the
// files its record says it wrote, and only while unchanged.
func TestApplyKeepsFilesItDidNotWrite(t *testing.T) {
	p, both, owls, out, _ := applySetup(t)
	first, err := Apply(context.Background(), p, readLabelsFile(t, both), both, out, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := eval.ReadGallery(first.Gallery)
	// Hand-made files, and one of apply's crops edited by hand (a bomb's: the next run drops it).
	writeFile(t, filepath.Join(out, CropDir, "mine.png"), []byte("hand-made crop"))
	writeFile(t, filepath.Join(out, "notes.txt"), []byte("my notes"))
	var edited string
	for _, r := range rows {
		if r.Label.ID == "mr-bomb" {
			edited = filepath.ToSlash(strings.TrimPrefix(r.Path, out+string(filepath.Separator)))
			break
		}
	}
	writeFile(t, filepath.Join(out, filepath.FromSlash(edited)), []byte("retouched"))

	second, err := Apply(context.Background(), p, readLabelsFile(t, owls), owls, out, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, out)
	if got[CropDir+"/mine.png"] != "hand-made crop" || got["notes.txt"] != "my notes" || got[edited] != "retouched" {
		t.Errorf("hand-made files lost or changed: mine.png %q, notes.txt %q, %s %q", got[CropDir+"/mine.png"], got["notes.txt"], edited, got[edited])
	}
	if len(second.Kept) != 1 || second.Kept[0] != edited {
		t.Errorf("Kept = %v, want [%s]", second.Kept, edited)
	}
	// Exactly the crops gallery.tsv names, plus the two hand-made ones, are left.
	rows2, err := eval.ReadGallery(second.Gallery)
	if err != nil {
		t.Fatal(err)
	}
	var crops []string
	for k := range got {
		if strings.HasPrefix(k, CropDir+"/") {
			crops = append(crops, k)
		}
	}
	sort.Strings(crops)
	if len(crops) != len(rows2)+2 {
		t.Errorf("crops %v for %d gallery rows (+ mine.png and the retouched one)", crops, len(rows2))
	}
	for _, r := range rows2 {
		if _, err := os.Stat(r.Path); err != nil {
			t.Errorf("gallery row %s: %v", r.Path, err)
		}
	}
	// The retouched crop is no longer apply's: naming it again is refused, the file kept.
	if _, err := Apply(context.Background(), p, readLabelsFile(t, both), both, out, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), edited) {
		t.Errorf("re-applying over a retouched crop: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(edited))); string(b) != "retouched" {
		t.Errorf("retouched crop overwritten: %q", b)
	}
	noTempLeft(t, out)
}

// TestApplyFailureLeavesOutputIntact: re-applying after a source image changed used to delete
// the old crops first and then fail, leaving a gallery.tsv naming missing files. Now the new
// output is made in a temporary folder and the old one is untouched until it is complete.
func TestApplyFailureLeavesOutputIntact(t *testing.T) {
	p, both, _, out, src := applySetup(t)
	if _, err := Apply(context.Background(), p, readLabelsFile(t, both), both, out, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	// Change a source image the labels use (which images end in clusters depends on the model).
	target, with := filepath.Base(p.Clusters[len(p.Clusters)-1].Members[0].Path), bombs[0]
	if target == filepath.Base(with) {
		with = owls[0]
	}
	copyFiles(t, src, with+"="+target)
	if _, err := Apply(context.Background(), p, readLabelsFile(t, both), both, out, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "changed since propose") {
		t.Fatalf("changed source: err %v", err)
	}
	after := snapshot(t, out)
	if len(after) != len(before) {
		t.Errorf("%d files after the failed apply, %d before", len(after), len(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed or removed by the failed apply", k)
		}
	}
	rows, err := eval.ReadGallery(filepath.Join(out, GalleryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if _, err := os.Stat(r.Path); err != nil {
			t.Errorf("gallery.tsv names a missing crop: %v", err)
		}
	}
	noTempLeft(t, out)
	// Into a new folder, a failure leaves no folder at all.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Apply(context.Background(), p, readLabelsFile(t, both), both, fresh, ApplyOptions{}); err == nil {
		t.Fatal("changed source accepted")
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a failed apply left %s: %v", fresh, err)
	}
	noTempLeft(t, fresh)
}

// TestApplyRecordIsChecked: the record decides what apply may replace or remove, so one that
// lists a file apply never writes (../victim) or is another program's is refused.
func TestApplyRecordIsChecked(t *testing.T) {
	p, both, owls, out, _ := applySetup(t)
	if _, err := Apply(context.Background(), p, readLabelsFile(t, both), both, out, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(filepath.Dir(out), "victim")
	writeFile(t, victim, []byte("precious"))
	rec, _ := os.ReadFile(filepath.Join(out, RecordFile))
	// e3b0... is the sha256 of nothing; the victim's own hash would do the same.
	hostile := strings.Replace(string(rec), `"files": [`, `"files": [{"path": "../victim", "sha256": "`+strings.Repeat("0", 64)+`"},`, 1)
	writeFile(t, filepath.Join(out, RecordFile), []byte(hostile))
	if _, err := Apply(context.Background(), p, readLabelsFile(t, owls), owls, out, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "../victim") {
		t.Errorf("hostile record: err %v", err)
	}
	for _, body := range []string{`{"format": "something-else", "version": 1, "files": []}`, `not json`} {
		writeFile(t, filepath.Join(out, RecordFile), []byte(body))
		if _, err := Apply(context.Background(), p, readLabelsFile(t, owls), owls, out, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "not a record") {
			t.Errorf("record %q: err %v", body, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim: %q", b)
	}
}
