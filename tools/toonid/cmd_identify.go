package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"
	"github.com/toonid/toonid/wasm/bridge"
)

func runIdentify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("identify", "identify -pack DIR [-box x,y,w,h | -at x,y] [-k 5] [-model FILE] [-json] IMAGE\n\n"+
		"Prints the top-k characters with cosine scores, or \"unknown\" when the best is below the pack's threshold.\n"+
		"Without -box or -at the whole image is the face crop. -at searches candidate crops around a click\n"+
		"point exactly as the browser does (wasm/bridge) and answers with the strongest.", stderr)
	packDir := fs.String("pack", "", "pack directory (required)")
	boxFlag := fs.String("box", "", "face crop x,y,w,h (the face box enlarged ~2x works best)")
	atFlag := fs.String("at", "", "click point x,y: search crops around it as the browser does")
	k := fs.Int("k", 5, "answers to print")
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *packDir == "" || fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want -pack DIR and exactly one IMAGE")
	}
	if *k < 1 {
		return fmt.Errorf("-k %d: want >= 1", *k)
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	p, err := pack.Open(os.DirFS(*packDir), pack.OpenOptions{ModelSHA256: m.Info().SHA256})
	if err != nil {
		return fmt.Errorf("%s: %w", *packDir, err)
	}
	if *atFlag != "" && *boxFlag != "" {
		return errors.New("give -box or -at, not both")
	}
	img, err := loadImageFor(fs.Arg(0), *atFlag != "")
	if err != nil {
		return err
	}
	if *atFlag != "" {
		mt, err := pack.NewMatcher(p)
		if err != nil {
			return err
		}
		return identifyAt(stdout, bridge.New(m, bridge.PackMatcher(mt), bridge.DefaultSearch()), img, *atFlag, *k, *asJSON)
	}
	box := img.Bounds()
	if *boxFlag != "" {
		if box, err = parseBox(*boxFlag); err != nil {
			return err
		}
	}
	v, err := m.EmbedImage(img, box)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	mt, err := pack.NewMatcher(p)
	if err != nil {
		return err
	}
	res, err := mt.Match(v, *k)
	if err != nil {
		return err
	}
	if *asJSON {
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

// loadImageFor decodes name under eval's limits; for the click search (forBridge) the header
// must also pass the bridge's size rule, checked before decoding rather than after.
func loadImageFor(name string, forBridge bool) (image.Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if forBridge {
		cfg, err := eval.CheckImage(f, name, 0)
		if err != nil {
			return nil, err
		}
		if err := bridge.CheckSize(cfg.Width, cfg.Height); err != nil {
			return nil, fmt.Errorf("%s: %w (-at searches the whole image, as the browser does)", name, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return eval.DecodeImage(f, name, 0)
}

// identifyAt runs the browser's click search (wasm/bridge) on the whole image, with the image's
// shorter side as the search unit, as the demo page does.
func identifyAt(stdout io.Writer, b *bridge.Bridge, img image.Image, at string, k int, asJSON bool) error {
	var x, y float64
	if n, err := fmt.Sscanf(at, "%g,%g", &x, &y); n != 2 || err != nil {
		return fmt.Errorf("-at %q: want x,y", at)
	}
	r := img.Bounds()
	rgba, ok := img.(*image.RGBA) // what eval.DecodeImage returns: no second copy
	if !ok || rgba.Rect.Min != (image.Point{}) || rgba.Stride != 4*r.Dx() {
		rgba = image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(rgba, rgba.Rect, img, r.Min, draw.Src)
	}
	req, err := json.Marshal(map[string]any{
		"click": map[string]float64{"X": x, "Y": y, "Unit": float64(min(r.Dx(), r.Dy()))}, "k": k})
	if err != nil {
		return err
	}
	out := b.Identify(rgba.Pix, r.Dx(), r.Dy(), req)
	var rep struct {
		Error string `json:"error"`
		bridge.Reply
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("identify -at: %w", err)
	}
	if rep.Error != "" {
		return errors.New(rep.Error)
	}
	if asJSON {
		return printJSON(stdout, rep.Reply)
	}
	if rep.Unknown {
		fmt.Fprintf(stdout, "unknown (best score %.4f < threshold %.4f)\n", rep.Score, rep.Threshold)
	}
	fmt.Fprintf(stdout, "box\t%d,%d,%d,%d\t(%d crops)\n", rep.Box[0], rep.Box[1], rep.Box[2], rep.Box[3], rep.Candidates)
	for i, a := range rep.Answers {
		fmt.Fprintf(stdout, "%d\t%.4f\t%s\t%s\t%s\n", i+1, a.Score, a.ID, a.Name, orDash(a.Series))
	}
	return nil
}
