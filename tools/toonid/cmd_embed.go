package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/tools/eval"
)

// shippedModel returns the model embedded in the binary, used when -model is not given.
func shippedModel() ([]byte, error) {
	if len(shipped.Model) == 0 {
		return nil, errors.New("this build has an empty shipped model: pass -model FILE")
	}
	return shipped.Model, nil
}

// loadModel loads -model FILE, or the shipped model when path is empty.
func loadModel(path string) (*model.Model, error) {
	var b []byte
	var err error
	if path == "" {
		b, err = shippedModel()
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	m, err := model.Load(b)
	if err != nil {
		if path == "" {
			path = "shipped model"
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// parseBox reads "x,y,w,h".
func parseBox(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x,y,w,h", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: %w", s, err)
		}
		v[i] = n
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("box %q: width and height must be positive", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// newFlags makes a flag set that reports errors to stderr, with a usage line.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: toonid %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// writeEmbedding writes "path<TAB>v1,v2,..." as `embed` and `eval -embeddings` do.
func writeEmbedding(w io.Writer, path string, v []float32) error {
	var sb strings.Builder
	sb.WriteString(path)
	sb.WriteByte('\t')
	for i, x := range v {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	sb.WriteByte('\n')
	_, err := io.WriteString(w, sb.String())
	return err
}

func runEmbed(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", "embed [-model FILE] [-box x,y,w,h] IMAGE...\n\nPrints one line per image: path<TAB>v1,v2,... (L2-normalised).", stderr)
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	boxFlag := fs.String("box", "", "embed this box x,y,w,h of every image instead of the whole image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no images given")
	}
	opts := eval.EmbedOptions{}
	if *boxFlag != "" {
		box, err := parseBox(*boxFlag)
		if err != nil {
			return err
		}
		opts.Box = func(string, image.Rectangle) image.Rectangle { return box }
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	embs, err := eval.EmbedFiles(context.Background(), m, fs.Args(), opts)
	if err != nil {
		return err
	}
	for i, p := range fs.Args() {
		if err := writeEmbedding(stdout, p, embs[i]); err != nil {
			return err
		}
	}
	return nil
}
