package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/tools/eval"

	"github.com/toonid/toonid/internal/fsutil"
)

// shippedModel returns the model embedded in the binary, used when -model is not given.
func shippedModel() ([]byte, error) {
	if len(shipped.Model) == 0 {
		return nil, errors.New("this build has an empty shipped model: pass -model FILE")
	}
	return shipped.Model, nil
}

// maxModelFile bounds a -model file read into memory; the shipped model is under 1 MB and the
// largest the format's readers accept is far below this.
const maxModelFile = 1 << 30

// loadModel loads -model FILE, or the shipped model when path is empty.
func loadModel(path string) (*model.Model, error) {
	var b []byte
	var err error
	if path == "" {
		b, err = shippedModel()
	} else {
		// Regular files only: -model naming a FIFO is refused instead of hanging.
		b, err = fsutil.ReadRegular(path, maxModelFile)
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

// embedArgs are embed's checked arguments.
type embedArgs struct {
	model  string
	box    *image.Rectangle
	images []string
}

func parseEmbed(args []string, stderr io.Writer) (*embedArgs, error) {
	fs := newFlags("embed", "embed [-model FILE] [-box x,y,w,h] IMAGE...\n\nPrints one line per image: path<TAB>v1,v2,... (L2-normalised).", stderr)
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	boxFlag := fs.String("box", "", "embed this box x,y,w,h of every image instead of the whole image")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, errors.New("no images given")
	}
	a := &embedArgs{model: *modelPath, images: fs.Args()}
	if *boxFlag != "" {
		box, err := parseBox(*boxFlag)
		if err != nil {
			return nil, err
		}
		a.box = &box
	}
	return a, nil
}

func runEmbed(args []string, stdout, stderr io.Writer) error {
	a, err := parseEmbed(args, stderr)
	if err != nil {
		return err
	}
	opts := eval.EmbedOptions{}
	if a.box != nil {
		box := *a.box
		opts.Box = func(string, image.Rectangle) image.Rectangle { return box }
	}
	m, err := loadModel(a.model)
	if err != nil {
		return err
	}
	embs, err := eval.EmbedFiles(context.Background(), m, a.images, opts)
	if err != nil {
		return err
	}
	for i, p := range a.images {
		if err := writeEmbedding(stdout, p, embs[i]); err != nil {
			return err
		}
	}
	return nil
}
