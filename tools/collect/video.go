package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/track"
)

// FFmpegPackage is the Debian package that puts ffmpeg on PATH (tools/setup.sh installs it).
const FFmpegPackage = "ffmpeg"

// Defaults of VideoOptions.
const (
	DefaultFPS       = 4
	DefaultMaxFrames = 3000
	MaxFPS           = 60
	// FramesDir is where ProposeVideo puts the decoded frames unless told otherwise: inside the
	// review folder, so apply finds them where proposals.json's root says.
	FramesDir = "frames"
	// answersK: the pack answers per crop the tracker's vote weighs.
	answersK = 5
	// CutDistance: consecutive frames whose colour histograms (histBins per channel, L1 over
	// the three channels, halved and averaged: 0 same, 1 disjoint) differ by more are a shot cut,
	// and the tracker starts afresh: a face box in the next shot is someone else, even where
	// the detector's box lands on the same spot.
	CutDistance = 0.25
	histBins    = 8
)

// ErrNoFFmpeg is returned (wrapped) when ffmpeg is not on PATH.
var ErrNoFFmpeg = fmt.Errorf("collect: ffmpeg not found on PATH: install Debian's %s package (apt-get install %s)", FFmpegPackage, FFmpegPackage)

// FindFFmpeg returns the path of ffmpeg on PATH, or ErrNoFFmpeg.
func FindFFmpeg() (string, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", ErrNoFFmpeg
	}
	return p, nil
}

// VideoOptions configures ProposeVideo. Options' Boxes and Grid are not used: proposals are the
// detector's faces; Dedup applies within a track, MinSize to a track's detections.
type VideoOptions struct {
	Options
	Detector *detect.Detector // required
	FPS      float64          // frames per second decoded (default DefaultFPS)
	// MaxFrames bounds the decoded frames (default DefaultMaxFrames): ffmpeg stops there.
	MaxFrames int
	// Frames is the folder the frames are decoded into (default REVIEWDIR/frames). It must not
	// exist, or hold only frames an earlier run decoded (NNNNNN.png), which are replaced.
	Frames string
	// Track configures the tracker (zero: track.DefaultConfig with MinHits 1, so that every
	// detection is filed under a track; one-frame tracks fall out at MinSize).
	Track *track.Config
}

var frameName = regexp.MustCompile(`^[0-9]{6}\.png$`)

// ExtractFrames decodes video with ffmpeg into dir/000000.png, 000001.png, ... at fps frames per
// second, at most maxFrames, and returns the file names in order. Frame i shows the video at
// i/fps seconds (ffmpeg's fps filter).
func ExtractFrames(ctx context.Context, video, dir string, fps float64, maxFrames int) ([]string, error) {
	ff, err := FindFFmpeg()
	if err != nil {
		return nil, err
	}
	if !(fps > 0 && fps <= MaxFPS) || maxFrames <= 0 {
		return nil, fmt.Errorf("collect: fps %v (want 0..%d], max frames %d", fps, MaxFPS, maxFrames)
	}
	st, err := os.Stat(video)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("collect: %s is not a regular file", video)
	}
	if err := clearFrames(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	// "file:" keeps a name starting with a protocol or "-" a local file; -nostdin: never wait on
	// the terminal; RGBA out so a transparent video keeps its alpha (FlattenOnWhite applies later).
	cmd := exec.CommandContext(ctx, ff, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-i", "file:"+video, "-map", "0:v:0", "-vf", "fps="+strconv.FormatFloat(fps, 'g', -1, 64),
		"-frames:v", strconv.Itoa(maxFrames), "-start_number", "0", "-pix_fmt", "rgba",
		filepath.Join(dir, "%06d.png"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 600 {
			msg = msg[len(msg)-600:]
		}
		return nil, fmt.Errorf("collect: ffmpeg could not decode %s: %w: %s", video, err, msg)
	}
	names, err := frameFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("collect: ffmpeg decoded no frames from %s", video)
	}
	return names, nil
}

// frameFiles lists dir's entries; all must be decoded frames.
func frameFiles(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	var names []string
	for _, e := range es {
		if !e.Type().IsRegular() || !frameName.MatchString(e.Name()) {
			return nil, fmt.Errorf("collect: %s holds %s, not a decoded frame: not touching a folder propose did not write", dir, e.Name())
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// clearFrames removes an earlier run's frames from dir (absent: nothing to do); anything else
// in it stops the run before a file is removed.
func clearFrames(dir string) error {
	names, err := frameFiles(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("collect: %w", err)
		}
	}
	return nil
}

// videoProp is a detected face: its proposal plus when and in which track.
type videoProp struct {
	proposal
	track   uint64
	answers []track.Answer // the pack's top answers for the crop
}

// ProposeVideo decodes video (ffmpeg), detects faces in every frame, embeds their crops, follows
// them with package track and writes the review folder out with one cluster per track (Cluster.
// Track set), so a person names a track once for all its crops.
func ProposeVideo(ctx context.Context, video, out string, opts VideoOptions) (*Proposals, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.Detector == nil {
		return nil, errors.New("collect: no detector")
	}
	if opts.FPS == 0 {
		opts.FPS = DefaultFPS
	}
	if opts.MaxFrames == 0 {
		opts.MaxFrames = DefaultMaxFrames
	}
	cfg := track.DefaultConfig()
	cfg.MinHits = 1
	if opts.Track != nil {
		cfg = *opts.Track
	}
	tr, err := track.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	frames := opts.Frames
	if frames == "" {
		frames = filepath.Join(absOut, FramesDir)
	}
	if frames, err = filepath.Abs(frames); err != nil {
		return nil, err
	}
	names, err := ExtractFrames(ctx, video, frames, opts.FPS, opts.MaxFrames)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(frames)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	defer root.Close()

	m := opts.Model
	info := m.Info()
	p := &Proposals{
		Format: FormatName, Version: FormatVersion, Root: frames,
		Model:  ModelRef{SHA256: info.SHA256, Input: info.InputW},
		Params: Params{Boxes: "detector", MinSide: opts.MinSide, Dedup: opts.Dedup, DedupWindow: opts.DedupWindow, MinSize: opts.MinSize,
			Video: &VideoParams{File: filepath.Base(video), FPS: opts.FPS}},
		Images: []Image{}, Clusters: []Cluster{},
	}
	if opts.Matcher != nil {
		p.Pack = &PackRef{Names: opts.PackNames, Threshold: opts.Matcher.Threshold()}
		if opts.Matcher.Dim() != info.EmbedDim {
			return nil, fmt.Errorf("collect: pack has %d-D embeddings, the model %d-D", opts.Matcher.Dim(), info.EmbedDim)
		}
	}
	var props []videoProp
	var prevHist []float64
	labels := map[uint64]string{} // each track's last decided label (the tracker's running vote)
	known := map[string]Suggestion{}
	for fi, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, sum, err := readImage(root, name, opts.MaxPixels)
		if err != nil {
			return nil, fmt.Errorf("collect: frame %s: %w", name, err)
		}
		p.Images = append(p.Images, Image{Path: name, Width: img.Rect.Dx(), Height: img.Rect.Dy(), SHA256: sum})
		h := histogram(img)
		if prevHist != nil && histDistance(prevHist, h) > CutDistance {
			tr.Reset()
			p.Stats.Cuts++
		}
		prevHist = h
		boxes, err := opts.Detector.Detect(img)
		if err != nil {
			return nil, fmt.Errorf("collect: frame %s: %w", name, err)
		}
		var batch [][]float32
		var dets []track.Detection
		var crops []image.Rectangle
		var matches []*Suggestion
		for _, b := range boxes {
			c := identify.FaceCrop(b).Intersect(img.Rect)
			if c.Empty() || len(dets) == track.MaxDetections {
				continue
			}
			in, err := m.Preprocess(nil, img.Pix, img.Stride, img.Rect.Dx(), img.Rect.Dy(), c)
			if err != nil {
				opts.Warn(fmt.Sprintf("%s: face %v left out: %v", name, c, err))
				continue
			}
			batch = append(batch, in)
			crops = append(crops, c)
			dets = append(dets, track.Detection{Box: track.Box{X: float64(b.X), Y: float64(b.Y), W: float64(b.W), H: float64(b.H)}, Score: b.Score})
			matches = append(matches, nil)
		}
		if len(batch) > 0 {
			vs, err := m.EmbedBatch(batch)
			if err != nil {
				return nil, fmt.Errorf("collect: %w", err)
			}
			for i, v := range vs {
				dets[i].Embedding = v
				if opts.Matcher == nil {
					continue
				}
				res, err := opts.Matcher.Match(v, answersK)
				if err != nil {
					return nil, fmt.Errorf("collect: %w", err)
				}
				dets[i].Threshold = res.Threshold
				for _, a := range res.Answers {
					dets[i].Answers = append(dets[i].Answers, track.Answer{ID: a.ID, Score: a.Score})
					known[a.ID] = Suggestion{ID: a.ID, Name: a.Name, Series: a.Series, Credit: a.Credit}
				}
				if !res.Unknown && len(res.Answers) > 0 {
					a := res.Answers[0]
					matches[i] = &Suggestion{ID: a.ID, Name: a.Name, Series: a.Series, Credit: a.Credit, Score: round4(a.Score)}
				}
			}
		}
		outs, err := tr.Update(1000*float64(fi)/opts.FPS, dets)
		if err != nil {
			return nil, fmt.Errorf("collect: frame %s: %w", name, err)
		}
		for _, o := range outs {
			if o.Predicted {
				continue
			}
			d := o.Detection
			vp := videoProp{proposal: proposal{image: fi, box: crops[d], vec: dets[d].Embedding, match: matches[d]}, track: o.TrackID, answers: dets[d].Answers}
			if opts.Matcher != nil {
				labels[o.TrackID] = o.Label
			}
			props = append(props, vp)
		}
		if opts.Progress != nil {
			opts.Progress(fi+1, len(names))
		}
	}
	p.Params.Video.Frames = len(names)
	p.Stats.Images = len(p.Images)
	p.Stats.Proposals = len(props)
	groupTracks(p, props, labels, known, &opts)
	all := make([]proposal, len(props))
	for i := range props {
		all[i] = props[i].proposal
	}
	if err := writeReview(root, absOut, p, all, m); err != nil {
		return nil, err
	}
	return p, nil
}

// groupTracks makes one cluster per track, in order of first appearance: members in time order,
// near-duplicates (Dedup, within the track) dropped in favour of the crop before them; tracks of
// fewer than MinSize detections are left out. A track's pack suggestion is the tracker's decided
// label (its running vote over every crop, not one frame's top-1).
func groupTracks(p *Proposals, props []videoProp, labels map[uint64]string, known map[string]Suggestion, opts *VideoOptions) {
	byTrack := map[uint64][]int{}
	var order []uint64
	for i, vp := range props {
		if _, ok := byTrack[vp.track]; !ok {
			order = append(order, vp.track)
		}
		byTrack[vp.track] = append(byTrack[vp.track], i)
	}
	for _, tid := range order {
		idx := byTrack[tid]
		if len(idx) < opts.MinSize {
			p.Stats.LeftOut += len(idx)
			continue
		}
		vecs := make([][]float32, len(idx))
		imgs := make([]int, len(idx))
		for k, i := range idx {
			vecs[k], imgs[k] = props[i].vec, props[i].image
		}
		var kept []int
		for k, d := range Dedup(vecs, imgs, opts.Dedup, opts.DedupWindow) {
			if d >= 0 {
				props[idx[d]].dups++
				p.Stats.Duplicates++
			} else {
				kept = append(kept, idx[k])
			}
		}
		keptVecs := make([][]float32, len(kept))
		for k, i := range kept {
			keptVecs[k] = props[i].vec
		}
		mean, coh := cohesion(keptVecs, seq(len(kept)))
		first, last := props[idx[0]].image, props[idx[len(idx)-1]].image
		c := Cluster{
			ID: fmt.Sprintf("t%04d", len(p.Clusters)+1), Cohesion: round4(coh),
			Track: &TrackInfo{ID: tid, Detections: len(idx), StartMS: frameMS(first, opts.FPS), EndMS: frameMS(last, opts.FPS)},
		}
		if l := labels[tid]; l != "" {
			if s, ok := known[l]; ok {
				var sum float32
				n := 0
				for _, i := range kept {
					for _, a := range props[i].answers {
						if a.ID == l {
							sum += a.Score
							n++
						}
					}
				}
				if n > 0 {
					s.Score = round4(sum / float32(n))
				}
				c.Suggestion = &s
				p.Stats.Suggested += len(kept)
			}
		}
		if c.Suggestion == nil {
			p.Stats.Clustered += len(kept)
		}
		for _, i := range kept {
			pr := props[i]
			c.Members = append(c.Members, Member{
				ID: memberID(i), Image: pr.image, Path: p.Images[pr.image].Path,
				Box:   [4]int{pr.box.Min.X, pr.box.Min.Y, pr.box.Dx(), pr.box.Dy()},
				Score: round4(scoreTo(pr.vec, mean)), Dups: pr.dups, Match: pr.match,
			})
		}
		p.Clusters = append(p.Clusters, c)
	}
	p.Stats.Tracks = len(p.Clusters)
}

// histogram is img's colour histogram, histBins per channel, each channel summing to 1 (every
// 4th pixel of every 4th row: enough for a shot's colours).
func histogram(img *image.RGBA) []float64 {
	h := make([]float64, 3*histBins)
	n := 0
	for y := 0; y < img.Rect.Dy(); y += 4 {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < img.Rect.Dx(); x += 4 {
			for c := range 3 {
				h[c*histBins+int(row[4*x+c])*histBins/256]++
			}
			n++
		}
	}
	for i := range h {
		h[i] /= float64(max(n, 1))
	}
	return h
}

// histDistance is the mean over channels of half the L1 distance: 0 for equal histograms, 1 for
// disjoint ones.
func histDistance(a, b []float64) float64 {
	var d float64
	for i := range a {
		d += math.Abs(a[i] - b[i])
	}
	return d / 6
}

func frameMS(frame int, fps float64) float64 { return math.Round(1000 * float64(frame) / fps) }

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
