package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/tools/eval"
)

// needFFmpeg skips when ffmpeg is absent, or fails under TOONID_REQUIRE_FFMPEG (make
// test-collect-video sets it; make setup installs ffmpeg), so make never skips these.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := FindFFmpeg(); err != nil {
		if os.Getenv("TOONID_REQUIRE_FFMPEG") != "" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v (make setup installs it; make test-collect-video requires it)", err)
	}
}

// makeVideo writes an MPEG-4 video of frames 480x320 at fps, two characters from the gallery
// art crossing the frame in opposite directions (one high, one low), and returns its path and
// the y that separates the two paths.
func makeVideo(t *testing.T, dir string, frames, fps int) (string, int) {
	t.Helper()
	a, b := loadArt(t, "supertux/owl_left-0.png"), loadArt(t, "tuxemon/bigfin_front.png")
	const W, H, side = 480, 320, 120
	return encodeVideo(t, dir, frames, fps, func(f int, img *image.RGBA) {
		gradient(img, 0)
		x := 8 + f*(W-side-16)/(frames-1)
		paste(img, a, image.Rect(x, 20, x+side, 20+side))
		paste(img, b, image.Rect(W-side-x, H-side-20, W-x, H-20))
	}), H / 2
}

// loadArt decodes an image of tools/gallery/img.
func loadArt(t *testing.T, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join(galleryImg, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := eval.DecodeImage(f, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// gradient fills a 480x320 frame top to bottom, sky to grass (shift moves the hues: another shot).
func gradient(img *image.RGBA, shift int) {
	for y := range img.Rect.Dy() {
		c := color.RGBA{uint8(120 + y/4 - shift), uint8(170 + y/6 - shift), uint8(230 - y/3 - shift/2), 255}
		draw.Draw(img, image.Rect(0, y, img.Rect.Dx(), y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
}

// encodeVideo draws frames 480x320 with paint and encodes them with ffmpeg (MPEG-4) at fps.
func encodeVideo(t *testing.T, dir string, frames, fps int, paint func(f int, img *image.RGBA)) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for f := range frames {
		img := image.NewRGBA(image.Rect(0, 0, 480, 320))
		paint(f, img)
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(src, fmt.Sprintf("%03d.png", f)), buf.Bytes())
	}
	video := filepath.Join(dir, "clip.mp4")
	ff, _ := FindFFmpeg()
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-nostdin", "-framerate", fmt.Sprint(fps),
		"-i", filepath.Join(src, "%03d.png"), "-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p", video).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return video
}

// TestShotCutSplitsTracks: the owl moves along one path and the background changes at a cut
// (another shot): the tracker starts afresh there, so no track spans the cut, even one the boxes
// and the embeddings would continue (with the cut check off, this clip gives one track across
// it). Across real cuts such a continuation is often another face on the same spot.
func TestShotCutSplitsTracks(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	owl := loadArt(t, "supertux/owl_left-0.png")
	const frames, fps, cut = 16, 8, 8
	video := encodeVideo(t, dir, frames, fps, func(f int, img *image.RGBA) {
		shift := 0
		if f >= cut {
			shift = 110
		}
		gradient(img, shift)
		x := 60 + 8*f
		paste(img, owl, image.Rect(x, 90, x+140, 230))
	})
	p, err := ProposeVideo(context.Background(), video, filepath.Join(dir, "review"), VideoOptions{
		Options: Options{Model: testModel(t)}, Detector: shippedDetector(t), FPS: fps,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Stats.Cuts != 1 {
		t.Errorf("%d cuts, want 1", p.Stats.Cuts)
	}
	sides := map[bool]bool{}
	cutMS := float64(1000 * cut / fps)
	for _, c := range p.Clusters { // by the track's times: near-duplicates leave no members
		if (c.Track.StartMS < cutMS) != (c.Track.EndMS < cutMS) {
			t.Errorf("%s spans the cut: %v..%v ms", c.ID, c.Track.StartMS, c.Track.EndMS)
		}
		sides[c.Track.StartMS < cutMS] = true
	}
	if len(sides) != 2 {
		t.Errorf("tracks only on one side of the cut: %d tracks", len(p.Clusters))
	}
}

// paste draws src scaled (nearest) over r of dst, by its alpha.
func paste(dst *image.RGBA, src image.Image, r image.Rectangle) {
	sb := src.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(sb.Min.X+(x-r.Min.X)*sb.Dx()/r.Dx(), sb.Min.Y+(y-r.Min.Y)*sb.Dy()/r.Dy())).(color.NRGBA)
			o, a := dst.RGBAAt(x, y), int(c.A)
			mix := func(s, d uint8) uint8 { return uint8((int(s)*a + int(d)*(255-a)) / 255) }
			dst.SetRGBA(x, y, color.RGBA{mix(c.R, o.R), mix(c.G, o.G), mix(c.B, o.B), 255})
		}
	}
}

func shippedDetector(t *testing.T) *detect.Detector {
	t.Helper()
	d, err := detect.Load(shipped.Detector)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestProposeVideoTracks: a generated clip of two characters crossing the frame gives two tracks,
// each holding only its character's crops (by the path they follow), and one name per track
// labels all its crops through apply.
func TestProposeVideoTracks(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	const frames, fps = 16, 8
	video, split := makeVideo(t, dir, frames, fps)
	out := filepath.Join(dir, "review")
	p, err := ProposeVideo(context.Background(), video, out, VideoOptions{
		Options: Options{Model: testModel(t)}, Detector: shippedDetector(t), FPS: fps,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Params.Video == nil || p.Params.Video.Frames != frames || p.Stats.Images != frames {
		t.Fatalf("video params %+v, %d images; want %d frames", p.Params.Video, p.Stats.Images, frames)
	}
	if p.Stats.Tracks != 2 || len(p.Clusters) != 2 {
		for _, c := range p.Clusters {
			t.Logf("%s: %+v, %d members, first %v", c.ID, *c.Track, len(c.Members), c.Members[0].Box)
		}
		t.Fatalf("%d tracks (%d clusters), want 2; stats %+v", p.Stats.Tracks, len(p.Clusters), p.Stats)
	}
	crops := 0
	for _, c := range p.Clusters {
		if c.Track == nil || c.Track.Detections < frames/2 {
			t.Errorf("%s: track %+v: want most of the %d frames", c.ID, c.Track, frames)
		}
		high := 0
		for i, m := range c.Members {
			if m.Box[1]+m.Box[3]/2 < split {
				high++
			}
			if i > 0 && m.Image <= c.Members[i-1].Image {
				t.Errorf("%s: members not in time order (%d after %d)", c.ID, m.Image, c.Members[i-1].Image)
			}
		}
		if high != 0 && high != len(c.Members) {
			t.Errorf("%s: %d of %d crops on the high path: the track mixes the two characters", c.ID, high, len(c.Members))
		}
		crops += len(c.Members)
	}
	high := func(m Member) bool { return m.Box[1]+m.Box[3]/2 < split }
	if high(p.Clusters[0].Members[0]) == high(p.Clusters[1].Members[0]) {
		t.Error("both tracks on one path")
	}
	// The folder reads back, and one label per track names every crop of it.
	back, err := ReadProposals(os.DirFS(out))
	if err != nil {
		t.Fatal(err)
	}
	var tsv strings.Builder
	tsv.WriteString("proposal\tidentity\tname\n")
	for i, c := range back.Clusters {
		for _, m := range c.Members {
			fmt.Fprintf(&tsv, "%s\tc%d\tCharacter %d\n", m.ID, i, i)
		}
	}
	l, err := ReadLabels(strings.NewReader(tsv.String()), "labels.tsv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), back, l, "labels.tsv", filepath.Join(dir, "gallery"), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Crops != crops || res.Identities != 2 {
		t.Errorf("apply: %d crops of %d identities, want %d of 2", res.Crops, res.Identities, crops)
	}
	// A rerun into the same folder replaces its frames.
	if _, err := ProposeVideo(context.Background(), video, out, VideoOptions{
		Options: Options{Model: testModel(t)}, Detector: shippedDetector(t), FPS: fps,
	}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
}

// TestVideoErrors: ffmpeg absent, a file that is not a video, a frames folder holding something
// else: clear errors, nothing removed.
func TestVideoErrors(t *testing.T) {
	dir := t.TempDir()
	notVideo := filepath.Join(dir, "notes.mp4")
	writeFile(t, notVideo, []byte("not a video"))
	opts := VideoOptions{Options: Options{Model: testModel(t)}, Detector: shippedDetector(t)}

	t.Run("no ffmpeg", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := ProposeVideo(context.Background(), notVideo, filepath.Join(dir, "r0"), opts)
		if !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
			t.Fatalf("got %v, want ErrNoFFmpeg naming the package", err)
		}
	})
	needFFmpeg(t)
	t.Run("not a video", func(t *testing.T) {
		_, err := ProposeVideo(context.Background(), notVideo, filepath.Join(dir, "r1"), opts)
		if err == nil || !strings.Contains(err.Error(), "ffmpeg could not decode") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("frames folder not ours", func(t *testing.T) {
		keep := filepath.Join(dir, "r2", FramesDir, "mine.txt")
		writeFile(t, keep, []byte("keep me"))
		_, err := ProposeVideo(context.Background(), notVideo, filepath.Join(dir, "r2"), opts)
		if err == nil || !strings.Contains(err.Error(), "not a decoded frame") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(keep); err != nil {
			t.Fatalf("the file is gone: %v", err)
		}
	})
	t.Run("bad fps", func(t *testing.T) {
		o := opts
		o.FPS = 1000
		if _, err := ProposeVideo(context.Background(), notVideo, filepath.Join(dir, "r3"), o); err == nil || !strings.Contains(err.Error(), "fps") {
			t.Fatalf("got %v", err)
		}
	})
}
