package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"
)

func runIdentify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("identify", "identify -pack DIR [-box x,y,w,h] [-k 5] [-model FILE] [-json] IMAGE\n\n"+
		"Prints the top-k characters with cosine scores, or \"unknown\" when the best is below the pack's threshold.\n"+
		"Without -box the whole image is the face crop.", stderr)
	packDir := fs.String("pack", "", "pack directory (required)")
	boxFlag := fs.String("box", "", "face crop x,y,w,h (the face box enlarged ~2x works best)")
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
	img, err := eval.LoadImage(fs.Arg(0), 0)
	if err != nil {
		return err
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
