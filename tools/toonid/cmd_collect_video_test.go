package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file given to -in is a video: its flags are checked, -boxes refused; the run itself is
// tools/collect's TestProposeVideoTracks (ffmpeg).
func TestCollectProposeVideoArgs(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if err := os.WriteFile(clip, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := parseCollectPropose([]string{"-in", clip, "-o", filepath.Join(dir, "r"), "-fps", "2.5"}, &bytes.Buffer{})
	if err != nil || !a.video || a.fps != 2.5 {
		t.Fatalf("video args: %+v, %v", a, err)
	}
	if a, err := parseCollectPropose([]string{"-in", dir, "-o", filepath.Join(t.TempDir(), "r")}, &bytes.Buffer{}); err != nil || a.video {
		t.Fatalf("a folder is not a video: %+v, %v", a, err)
	}
	for _, bad := range [][]string{
		{"-in", clip, "-o", "r", "-boxes", "b.tsv"},
		{"-in", clip, "-o", "r", "-fps", "0"},
		{"-in", clip, "-o", "r", "-fps", "61"},
		{"-in", clip, "-o", "r", "-max-frames", "0"},
	} {
		if _, err := parseCollectPropose(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// Not a video: ffmpeg's complaint, or the missing-ffmpeg message naming the package.
	code, _, errs := cli("collect", "propose", "-in", clip, "-o", filepath.Join(dir, "r"), "-model", tinyModel(t, 1))
	if code == 0 || !(strings.Contains(errs, "ffmpeg could not decode") || strings.Contains(errs, "apt-get install ffmpeg")) {
		t.Fatalf("not a video: exit %d, %s", code, errs)
	}
}
