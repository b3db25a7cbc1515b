// Package collect turns a folder of frames or images into a reviewed, labelled gallery: the
// semi-automatic collection of iCartoonFace (ACM MM 2020), where the machine proposes and people
// verify.
//
//	Propose: walk a folder -> square crop proposals (no detector: a multi-scale grid, or boxes from a
//	         TSV) -> embed (model.Model) -> drop near-duplicates -> pre-label with a pack's Matcher
//	         (a suggestion) -> average-link clustering of the rest -> REVIEWDIR/proposals.json,
//	         thumbnails and the review page (review.html).
//	Review:  a person names clusters, unticks wrong members, rejects clusters; the page exports
//	         labels.tsv.
//	Apply:   labels.tsv + proposals.json -> crops, a gallery TSV for `toonid pack build` and an
//	         iCartoonFace-format annotation file for model/train.
//
// See README.md for the formats and the choices behind them.
package collect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format constants of proposals.json (README.md, "proposals.json").
const (
	FormatName    = "toonid-collect-proposals"
	FormatVersion = 1
	ProposalsFile = "proposals.json"
	// ProposalsScript holds the same JSON as a classic script, so review.html works from file://
	// (browsers refuse fetch() and module scripts there).
	ProposalsScript = "proposals.js"
	ThumbDir        = "thumbs"

	// MaxProposalsBytes bounds proposals.json when it is read back.
	MaxProposalsBytes = 256 << 20
	maxPathLen        = 1024
	maxIDLen          = 256  // pack label id limit
	maxTextLen        = 1024 // pack label name, series, credit limit
)

// Proposals is proposals.json: everything the review page shows and apply checks labels against.
type Proposals struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Run identifies this result: the first 16 hex digits of the sha256 of the file with Run empty.
	// The page stamps it into labels.tsv, and apply refuses labels made for another run.
	Run string `json:"run"`
	// Root is the folder the image paths are relative to (absolute, as given to propose).
	Root     string    `json:"root"`
	Model    ModelRef  `json:"model"`
	Pack     *PackRef  `json:"pack,omitempty"`
	Params   Params    `json:"params"`
	Stats    Stats     `json:"stats"`
	Images   []Image   `json:"images"`
	Clusters []Cluster `json:"clusters"`
	Skipped  []Skip    `json:"skipped,omitempty"`
}

// ModelRef names the model the embeddings came from.
type ModelRef struct {
	SHA256 string `json:"sha256"`
	Input  int    `json:"input"` // input side in pixels: thumbnails are this size
}

// PackRef names the pack that pre-labelled proposals.
type PackRef struct {
	Names     []string `json:"names"`
	Threshold float32  `json:"threshold"`
}

// Params records the settings of the run.
type Params struct {
	Grid        []int   `json:"grid,omitempty"`  // window divisors of the shorter side (no -boxes)
	Boxes       string  `json:"boxes,omitempty"` // the -boxes TSV, when boxes came from one
	MinSide     int     `json:"min_side"`
	Dedup       float32 `json:"dedup"`
	DedupWindow int     `json:"dedup_window"`
	Link        float32 `json:"link"`
	MinSize     int     `json:"min_size"`
	// Video is set when the images are frames propose decoded from a video (clusters are tracks).
	Video *VideoParams `json:"video,omitempty"`
}

// VideoParams records the video a run decoded: its file name, the frames per second decoded
// (frame i is at i/fps s) and the number of frames.
type VideoParams struct {
	File   string  `json:"file"`
	FPS    float64 `json:"fps"`
	Frames int     `json:"frames"`
}

// TrackInfo is a cluster that is one track: the tracker's id, how many detections it matched
// (near-duplicates included, so at least the members) and the times of its first and last, ms.
type TrackInfo struct {
	ID         uint64  `json:"id"`
	Detections int     `json:"detections"`
	StartMS    float64 `json:"start_ms"`
	EndMS      float64 `json:"end_ms"`
}

// Stats counts what happened to the proposals.
type Stats struct {
	Images     int `json:"images"`     // images read
	Skipped    int `json:"skipped"`    // files skipped (see Skipped)
	Proposals  int `json:"proposals"`  // crops embedded
	Duplicates int `json:"duplicates"` // dropped as near-duplicates of a kept proposal
	Suggested  int `json:"suggested"`  // pre-labelled by the pack
	Clustered  int `json:"clustered"`  // in clusters of at least min_size
	LeftOut    int `json:"left_out"`   // in smaller clusters, not in the file
	Tracks     int `json:"tracks,omitempty"` // video: clusters that are tracks
	Cuts       int `json:"cuts,omitempty"`   // video: shot cuts found (the tracker starts afresh at each)
}

// Image is one source image. SHA256 lets apply notice an image that changed since propose.
type Image struct {
	Path   string `json:"path"` // slash-separated, relative to Root
	Width  int    `json:"width"`
	Height int    `json:"height"`
	SHA256 string `json:"sha256"`
}

// A Cluster is a group for the reviewer: pack-suggested (Suggestion set) or found by clustering.
type Cluster struct {
	ID         string      `json:"id"`
	Suggestion *Suggestion `json:"suggestion,omitempty"`
	// Cohesion is the mean pairwise cosine of the members (1 for one member).
	Cohesion float32 `json:"cohesion"`
	// Track is set when the cluster is one track of a video (members in time order).
	Track   *TrackInfo `json:"track,omitempty"`
	Members []Member   `json:"members"`
}

// A Suggestion is a pack's answer: a character the pack's Matcher placed above its threshold.
type Suggestion struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Series string  `json:"series,omitempty"`
	Credit string  `json:"credit,omitempty"`
	Score  float32 `json:"score"`
}

// A Member is one proposal: a square crop box of an image.
type Member struct {
	ID    string `json:"id"` // "p" + 6+ digits; its thumbnail is thumbs/<id>.jpg
	Image int    `json:"image"`
	Path  string `json:"path"` // Images[Image].Path, repeated for readers of the file
	// Box is x, y, w, h in the image's pixels: the crop given to the model (face box ~2x).
	Box [4]int `json:"box"`
	// Score is the cosine between the member and its cluster's mean: how typical it is.
	Score float32 `json:"score"`
	// Dups counts near-duplicates dropped in its favour (e.g. the following video frames).
	Dups int `json:"dups,omitempty"`
	// Match is the pack's answer for this member, when above the threshold.
	Match *Suggestion `json:"match,omitempty"`
}

// A Skip is a file propose did not use, and why.
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

var proposalID = regexp.MustCompile(`^p[0-9]{6,9}$`)

func memberID(i int) string { return fmt.Sprintf("p%06d", i) }

// Marshal encodes p as indented JSON with its Run set from the content.
func (p *Proposals) Marshal() ([]byte, error) {
	p.Run = ""
	b, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	p.Run = hex.EncodeToString(sum[:8])
	b, err = json.MarshalIndent(p, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DecodeProposals parses and validates proposals.json. It never panics; every error names what
// is wrong.
func DecodeProposals(b []byte) (*Proposals, error) {
	if len(b) > MaxProposalsBytes {
		return nil, fmt.Errorf("collect: proposals: %d bytes, limit %d", len(b), MaxProposalsBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Proposals
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("collect: proposals: %w", err)
	}
	if dec.More() {
		return nil, errors.New("collect: proposals: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("collect: proposals: %w", err)
	}
	return &p, nil
}

// ReadProposals reads and validates dir/proposals.json.
func ReadProposals(fsys fs.FS) (*Proposals, error) {
	f, err := fsys.Open(ProposalsFile)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxProposalsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("collect: %s: %w", ProposalsFile, err)
	}
	return DecodeProposals(b)
}

// Validate checks the structure: format and version, image paths, unique member ids, boxes
// inside their images, finite scores.
func (p *Proposals) Validate() error {
	if p.Format != FormatName || p.Version != FormatVersion {
		return fmt.Errorf("format %q version %d, want %q version %d", p.Format, p.Version, FormatName, FormatVersion)
	}
	if v := p.Params.Video; v != nil {
		if err := checkText(v.File, maxPathLen, false); err != nil || !(v.FPS > 0 && v.FPS <= MaxFPS) || v.Frames < 0 {
			return fmt.Errorf("params: video %q at %v fps, %d frames", clip(v.File), v.FPS, v.Frames)
		}
	}
	if !isHex(p.Model.SHA256, 64) && p.Model.SHA256 != "" {
		return fmt.Errorf("model sha256 %q is not 64 hex digits", clip(p.Model.SHA256))
	}
	seenPath := map[string]bool{}
	for i, im := range p.Images {
		if err := checkRelPath(im.Path); err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		if seenPath[im.Path] {
			return fmt.Errorf("image %d: path %q listed twice", i, im.Path)
		}
		seenPath[im.Path] = true
		if im.Width <= 0 || im.Height <= 0 || im.Width > 1<<20 || im.Height > 1<<20 {
			return fmt.Errorf("image %d (%s): size %dx%d", i, im.Path, im.Width, im.Height)
		}
		if !isHex(im.SHA256, 64) {
			return fmt.Errorf("image %d (%s): sha256 %q is not 64 hex digits", i, im.Path, clip(im.SHA256))
		}
	}
	seenCluster := map[string]bool{}
	seenMember := map[string]bool{}
	for ci, c := range p.Clusters {
		if c.ID == "" || len(c.ID) > 64 || seenCluster[c.ID] {
			return fmt.Errorf("cluster %d: id %q empty, too long or repeated", ci, clip(c.ID))
		}
		seenCluster[c.ID] = true
		if len(c.Members) == 0 {
			return fmt.Errorf("cluster %s: no members", c.ID)
		}
		if !finite(c.Cohesion) {
			return fmt.Errorf("cluster %s: cohesion is not finite", c.ID)
		}
		if tk := c.Track; tk != nil && (tk.Detections < len(c.Members) || !(tk.StartMS >= 0 && tk.EndMS >= tk.StartMS && tk.EndMS < math.MaxInt32)) {
			return fmt.Errorf("cluster %s: track of %d detections for %d members, %v..%v ms", c.ID, tk.Detections, len(c.Members), tk.StartMS, tk.EndMS)
		}
		if s := c.Suggestion; s != nil {
			if err := checkSuggestion(s); err != nil {
				return fmt.Errorf("cluster %s: suggestion: %w", c.ID, err)
			}
		}
		for _, m := range c.Members {
			if !proposalID.MatchString(m.ID) {
				return fmt.Errorf("cluster %s: member id %q, want p and 6 to 9 digits", c.ID, clip(m.ID))
			}
			if seenMember[m.ID] {
				return fmt.Errorf("cluster %s: member %s appears twice", c.ID, m.ID)
			}
			seenMember[m.ID] = true
			if m.Image < 0 || m.Image >= len(p.Images) {
				return fmt.Errorf("member %s: image %d out of range (%d images)", m.ID, m.Image, len(p.Images))
			}
			im := p.Images[m.Image]
			if m.Path != im.Path {
				return fmt.Errorf("member %s: path %q but image %d is %q", m.ID, clip(m.Path), m.Image, im.Path)
			}
			if err := checkBox(m.Box, im.Width, im.Height); err != nil {
				return fmt.Errorf("member %s (%s): %w", m.ID, im.Path, err)
			}
			if !finite(m.Score) || m.Dups < 0 {
				return fmt.Errorf("member %s: score %v, dups %d", m.ID, m.Score, m.Dups)
			}
			if m.Match != nil {
				if err := checkSuggestion(m.Match); err != nil {
					return fmt.Errorf("member %s: match: %w", m.ID, err)
				}
			}
		}
	}
	return nil
}

// index maps member ids to members.
func (p *Proposals) index() map[string]*Member {
	idx := map[string]*Member{}
	for ci := range p.Clusters {
		for mi := range p.Clusters[ci].Members {
			m := &p.Clusters[ci].Members[mi]
			idx[m.ID] = m
		}
	}
	return idx
}

func checkSuggestion(s *Suggestion) error {
	if err := checkText(s.ID, maxIDLen, true); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	for _, t := range []string{s.Name, s.Series, s.Credit} {
		if err := checkText(t, maxTextLen, false); err != nil {
			return err
		}
	}
	if !finite(s.Score) {
		return errors.New("score is not finite")
	}
	return nil
}

// checkBox: x, y, w, h with w, h > 0, inside a w x h image.
func checkBox(b [4]int, w, h int) error {
	if b[2] <= 0 || b[3] <= 0 || b[0] < 0 || b[1] < 0 || b[0] > w-b[2] || b[1] > h-b[3] {
		return fmt.Errorf("box %d,%d,%d,%d is empty or outside the %dx%d image", b[0], b[1], b[2], b[3], w, h)
	}
	return nil
}

// checkRelPath accepts a clean, relative, slash-separated path of printable UTF-8 with no "..",
// no leading "/" and no backslash: what propose writes, and all apply will open.
func checkRelPath(p string) error {
	switch {
	case p == "" || len(p) > maxPathLen:
		return fmt.Errorf("path %q: empty or over %d bytes", clip(p), maxPathLen)
	case !fs.ValidPath(p) || p == "." || path.Clean(p) != p:
		return fmt.Errorf("path %q: not a clean relative path", clip(p))
	case strings.ContainsRune(p, '\\'):
		return fmt.Errorf("path %q: backslash", clip(p))
	}
	if err := checkText(p, maxPathLen, true); err != nil {
		return fmt.Errorf("path %q: %w", clip(p), err)
	}
	return nil
}

// checkText: valid UTF-8, no control characters (tabs and newlines would break the TSV files),
// at most max bytes, non-empty when required.
func checkText(s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	if len(s) > max {
		return fmt.Errorf("%d bytes, limit %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
