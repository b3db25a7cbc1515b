package identify

import (
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/model"
)

// A FaceDetector finds the face boxes of a frame, best first (*detect.Detector).
type FaceDetector interface {
	Detect(img image.Image) ([]detect.Box, error)
}

// MaxFaces bounds how many of a frame's faces IdentifyAll names (the detector's best): each
// costs one embedding, and a frame with more faces than this is a crowd, not a cast.
const MaxFaces = 20

// A Face is one detected face and what the packs say of it.
type Face struct {
	// Box is the detector's face box (x, y, width, height in frame pixels) and Score its
	// detector score in [0, 1].
	Box   [4]float32 `json:"box"`
	Score float32    `json:"score"`
	// Crop is the square embedded (FaceCrop of Box; it may leave the frame), x, y, width, height.
	Crop      [4]int   `json:"crop"`
	Answers   []Answer `json:"answers"` // best first; never nil
	Unknown   bool     `json:"unknown"`
	Best      float32  `json:"best"` // the best match score (0 when nothing matched: Flat, or an empty pack)
	Threshold float32  `json:"threshold"`
	// Flat: the crop is too flat to be a face (FlatEdge): not matched, no answers. IdentifyAll
	// leaves such faces out; NameFaces keeps one Face per box and marks them.
	Flat bool `json:"flat"`
	// Doubtful: no pack character matches and the detector scored the box under DoubtfulScore.
	// IdentifyAll leaves such faces out too; NameFaces marks them.
	Doubtful bool `json:"doubtful"`
}

// DoubtfulScore is the detector score under which a face no pack character matches is left
// out of IdentifyAll's faces: the shipped detector's false alarms on rubble, sky, birds, rocks
// and lettering are unknown faces scored 0.30-0.50, and a box marked "?" says nothing a click
// would not. A face a character matches is kept at any score (named true faces scored as low
// as 0.30). detect/README.md has the measurement the value was chosen on.
const DoubtfulScore = 0.5

// AllReply is IdentifyAll's answer: every face named, best detector score first.
type AllReply struct {
	Faces    []Face  `json:"faces"` // never nil
	DetectMS float64 `json:"detectMs"`
	MS       float64 `json:"ms"` // detection and naming together
}

// FaceCropScale is the side of the square embedded for a detected face, in units of the
// detector box's long side. The embedder's crops are the face enlarged about 2x (hair and
// accessories identify cartoon characters); the shipped detector's boxes already run larger
// than the face (median 1.23x the hand-labelled boxes of tools/gallery/detval it matches), and
// measured on 848x480 composites of the gallery's crops (1,396 faces) and on the two test
// images, faces were named most often at 1.25 (57 composited faces vs 37 at 1.5 and 6 at 2;
// the Sintel and Pepper test faces named at 1 and 1.25, never at 2). A detector with
// tighter boxes wants this nearer 2.
const FaceCropScale = 1.25

// FaceCrop is the embedder's crop of a face box: a square of FaceCropScale times the box's long
// side around its centre. Where it leaves the frame the model's preprocessing pads with its
// mean colour.
func FaceCrop(b detect.Box) image.Rectangle { return SquareAround(b, FaceCropScale) }

// SquareAround is the square of scale times b's long side around b's centre, in whole pixels.
func SquareAround(b detect.Box, scale float64) image.Rectangle {
	s := scale * float64(max(b.W, b.H))
	cx, cy := float64(b.X+b.W/2), float64(b.Y+b.H/2)
	x0, y0 := int(math.Round(cx-s/2)), int(math.Round(cy-s/2))
	n := max(1, int(math.Round(s)))
	return image.Rect(x0, y0, x0+n, y0+n)
}

// IdentifyAll finds every face of a non-premultiplied RGBA frame (stride 4*w) with d and names
// the best MaxFaces of them, all crops in one EmbedBatch call; k answers per face as in
// Identify. Transparent pixels are put on white in place first (model.FlattenOnWhite), so the
// detector and the embedder see what Identify's crops see. Frames the detector passes over
// (short side below detect.MinSide, one flat colour) give no faces and no error.
// It is Detect, then NameFaces of the first MaxFaces boxes, without the faces whose crop is too
// flat to be one (Face.Flat) or that are Doubtful: a caller that splits those boxes among
// several Identifiers (the browser's two workers) gets the same crops and scores, and drops the
// Flat and Doubtful ones too. (Those boxes count towards MaxFaces here; live mode drops flat
// ones before its own cap and keeps doubtful ones, which its tracks name or not over frames.)
func (id *Identifier) IdentifyAll(pix []byte, w, h int, d FaceDetector, k int) (AllReply, error) {
	t0 := time.Now()
	boxes, err := Detect(pix, w, h, d)
	if err != nil {
		return AllReply{}, err
	}
	detectMS := ms(time.Since(t0))
	faces, err := id.nameFaces(pix, w, h, boxes[:min(len(boxes), MaxFaces)], clampK(k))
	if err != nil {
		return AllReply{}, err
	}
	faces = slices.DeleteFunc(faces, func(f Face) bool { return f.Flat || f.Doubtful })
	return AllReply{Faces: faces, DetectMS: detectMS, MS: ms(time.Since(t0))}, nil
}

// NameFaces names face boxes of a frame that Detect found (inside the frame, at most MaxFaces),
// as IdentifyAll names them: the same crop (FaceCrop) and the same matching, all crops in one
// EmbedBatch call, one Face per box in the order given (never nil). The frame is flattened on
// white in place, as Detect flattens it (flattening twice changes nothing).
func (id *Identifier) NameFaces(pix []byte, w, h int, boxes []detect.Box, k int) ([]Face, error) {
	if err := CheckImage(pix, w, h); err != nil {
		return nil, err
	}
	if len(boxes) > MaxFaces {
		return nil, fmt.Errorf("identify: %d face boxes, at most %d are named", len(boxes), MaxFaces)
	}
	// Detect clips its boxes to the frame; the slack allows for float32 rounding of x+w.
	const slack = 1
	for _, b := range boxes {
		if !(b.W > 0 && b.H > 0 && b.X >= 0 && b.Y >= 0 && b.X+b.W <= float32(w)+slack && b.Y+b.H <= float32(h)+slack) {
			return nil, fmt.Errorf("identify: face box %v not inside the %dx%d frame", [4]float32{b.X, b.Y, b.W, b.H}, w, h)
		}
	}
	model.FlattenOnWhite(pix)
	return id.nameFaces(pix, w, h, boxes, clampK(k))
}

// nameFaces is NameFaces on a checked, flattened frame and a clamped k.
func (id *Identifier) nameFaces(pix []byte, w, h int, boxes []detect.Box, k int) ([]Face, error) {
	faces := make([]Face, len(boxes))
	if len(boxes) == 0 {
		return faces, nil
	}
	crops := make([]image.Rectangle, len(boxes))
	for i, b := range boxes {
		crops[i] = FaceCrop(b)
	}
	s, err := id.score(pix, w, h, crops, k, true)
	if err != nil {
		return nil, err
	}
	for i, b := range boxes {
		c := crops[i]
		faces[i] = Face{Box: [4]float32{b.X, b.Y, b.W, b.H}, Score: b.Score,
			Crop: [4]int{c.Min.X, c.Min.Y, c.Dx(), c.Dy()}, Answers: answersOf(s[i]),
			Unknown: s[i].m.Unknown, Best: s[i].top(), Threshold: s[i].m.Threshold, Flat: s[i].flat,
			Doubtful: !s[i].flat && s[i].m.Unknown && b.Score < DoubtfulScore}
		if len(s[i].m.Answers) == 0 {
			faces[i].Best = 0 // JSON has no -Inf
		}
	}
	return faces, nil
}

// Detect finds a frame's faces without naming them (best first, at most detect.MaxBoxes), with
// IdentifyAll's checks and transparency rule: IdentifyAll names the first MaxFaces of these.
func Detect(pix []byte, w, h int, d FaceDetector) ([]detect.Box, error) {
	if err := CheckImage(pix, w, h); err != nil {
		return nil, err
	}
	model.FlattenOnWhite(pix)
	boxes, err := d.Detect(&image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)})
	if err != nil {
		return nil, fmt.Errorf("identify: detect: %w", err)
	}
	return boxes, nil
}

func clampK(k int) int {
	if k <= 0 {
		k = DefaultK
	}
	return min(k, MaxK)
}

func answersOf(s scored) []Answer {
	out := make([]Answer, len(s.m.Answers))
	for i, a := range s.m.Answers {
		out[i] = Answer{ID: a.ID, Name: a.Name, Series: a.Series, Score: a.Score}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
