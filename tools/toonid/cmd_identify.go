package main

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"

	"github.com/toonid/toonid/internal/fsutil"
)

// identifyArgs are identify's checked arguments.
type identifyArgs struct {
	pack, model, image string
	box                *image.Rectangle
	at                 *[2]float64
	k                  int
	json               bool
	all                bool   // -all: every detected face
	detector           string // -detector FILE for -all
}

func parseIdentify(args []string, stderr io.Writer) (*identifyArgs, error) {
	fs := newFlags("identify", "identify -pack DIR [-box x,y,w,h | -at x,y] [-k 5] [-model FILE] [-json] IMAGE\n\n"+
		"Prints the top-k characters with cosine scores, or \"unknown\" when the best is below the pack's threshold.\n"+
		"Without -box or -at the whole image is the face crop. -at searches candidate crops around a click\n"+
		"point exactly as the browser does (package identify) and answers with the strongest.", stderr)
	packDir := fs.String("pack", "", "pack directory (required)")
	boxFlag := fs.String("box", "", "face crop x,y,w,h (the face box enlarged ~2x works best)")
	atFlag := fs.String("at", "", "click point x,y: search crops around it as the browser does")
	k := fs.Int("k", 5, fmt.Sprintf("answers to print (1..%d)", pack.MaxLabels))
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	all := fs.Bool("all", false, "name every face the detector finds (boxes, answers per face; faces too flat to be one, and unmatched ones under identify.DoubtfulScore, are left out)")
	detector := fs.String("detector", "", "detector model file for -all (default: the shipped detector)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *packDir == "" || fs.NArg() != 1 {
		fs.Usage()
		if *packDir == "" {
			// The one a first try needs: where make puts the default pack.
			return nil, errors.New("-pack DIR is required (make default-pack writes build/store/packs/default)")
		}
		return nil, fmt.Errorf("want exactly one IMAGE, got %d arguments", fs.NArg())
	}
	if *k < 1 || *k > pack.MaxLabels {
		return nil, fmt.Errorf("-k %d: want 1..%d", *k, pack.MaxLabels)
	}
	a := &identifyArgs{pack: *packDir, model: *modelPath, image: fs.Arg(0), k: *k, json: *asJSON, all: *all, detector: *detector}
	if a.all && (*atFlag != "" || *boxFlag != "") {
		return nil, errors.New("-all finds the faces itself: not with -box or -at")
	}
	if *atFlag != "" && *boxFlag != "" {
		return nil, errors.New("give -box or -at, not both")
	}
	if *boxFlag != "" {
		box, err := parseBox(*boxFlag)
		if err != nil {
			return nil, err
		}
		a.box = &box
	}
	if *atFlag != "" {
		x, y, err := parsePoint(*atFlag)
		if err != nil {
			return nil, fmt.Errorf("-at %w", err)
		}
		a.at = &[2]float64{x, y}
	}
	return a, nil
}

func runIdentify(args []string, stdout, stderr io.Writer) error {
	a, err := parseIdentify(args, stderr)
	if err != nil {
		return err
	}
	m, err := loadModel(a.model)
	if err != nil {
		return err
	}
	p, err := pack.Open(os.DirFS(a.pack), pack.OpenOptions{ModelSHA256: m.Info().SHA256})
	if err != nil {
		return fmt.Errorf("%s: %w", a.pack, err)
	}
	img, err := loadImageFor(a.image, a.at != nil || a.all)
	if err != nil {
		return err
	}
	mt, err := pack.NewMatcher(p)
	if err != nil {
		return err
	}
	if a.all {
		return identifyAll(stdout, identify.New(m, mt, identify.DefaultSearch()), a.detector, img, a.k, a.json)
	}
	if a.at != nil {
		return identifyAt(stdout, identify.New(m, mt, identify.DefaultSearch()), img, a.at[0], a.at[1], a.k, a.json)
	}
	box := img.Bounds()
	if a.box != nil {
		box = *a.box
	}
	v, err := m.EmbedImage(img, box)
	if err != nil {
		return fmt.Errorf("%s: %w", a.image, err)
	}
	res, err := mt.Match(v, a.k)
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(stdout, res)
	}
	if res.Unknown {
		best := float32(0)
		if len(res.Answers) > 0 {
			best = res.Answers[0].Score
		}
		fmt.Fprintf(stdout, "unknown (best score %.4f < threshold %.4f)\n", best, res.Threshold)
	}
	for i, a := range res.Answers {
		fmt.Fprintf(stdout, "%d\t%.4f\t%s\t%s\t%s\n", i+1, a.Score, a.ID, a.Name, orDash(a.Series))
	}
	return nil
}

// loadImageFor decodes name under eval's limits; for the click search (forSearch) the header
// must also pass the crop stage's size rule, checked before decoding rather than after.
func loadImageFor(name string, forSearch bool) (image.Image, error) {
	f, err := fsutil.OpenRegular(name) // a FIFO is refused, not waited on
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if forSearch {
		cfg, err := eval.CheckImage(f, name, 0)
		if err != nil {
			return nil, err
		}
		if err := identify.CheckSize(cfg.Width, cfg.Height); err != nil {
			return nil, fmt.Errorf("%s: %w (-at searches the whole image, as the browser does)", name, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return eval.DecodeImage(f, name, 0)
}

// rgbaOf is img as the crop stage takes it: RGBA pixels from (0, 0), stride 4*width.
func rgbaOf(img image.Image) *image.RGBA {
	r := img.Bounds()
	rgba, ok := img.(*image.RGBA) // what eval.DecodeImage returns: no second copy
	if !ok || rgba.Rect.Min != (image.Point{}) || rgba.Stride != 4*r.Dx() {
		rgba = image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(rgba, rgba.Rect, img, r.Min, draw.Src)
	}
	return rgba
}

// identifyAt runs the browser's click search (package identify) on the whole image, with the
// image's shorter side as the search unit, as the demo page does.
func identifyAt(stdout io.Writer, id *identify.Identifier, img image.Image, x, y float64, k int, asJSON bool) error {
	r := img.Bounds()
	rgba := rgbaOf(img)
	rep, err := id.Identify(rgba.Pix, r.Dx(), r.Dy(), identify.Request{
		Click: &identify.Click{X: x, Y: y, Unit: float64(min(r.Dx(), r.Dy()))}, K: k})
	if err != nil {
		return fmt.Errorf("identify -at: %w", err)
	}
	if asJSON {
		return printJSON(stdout, rep)
	}
	switch {
	case rep.Flat:
		fmt.Fprintf(stdout, "no face here: every crop around the point is too flat to be one (edge strength under %g)\n", id.Search().FlatEdge)
	case rep.Unknown:
		fmt.Fprintf(stdout, "unknown (best score %.4f < threshold %.4f)\n", rep.Score, rep.Threshold)
	}
	fmt.Fprintf(stdout, "box\t%d,%d,%d,%d\t(%d crops)\n", rep.Box[0], rep.Box[1], rep.Box[2], rep.Box[3], rep.Candidates)
	for i, a := range rep.Answers {
		fmt.Fprintf(stdout, "%d\t%.4f\t%s\t%s\t%s\n", i+1, a.Score, a.ID, a.Name, orDash(a.Series))
	}
	return nil
}
