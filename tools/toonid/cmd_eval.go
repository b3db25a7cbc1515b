package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"
)

// evalArgs are eval's checked arguments.
type evalArgs struct {
	manifest, model, embOut string
	json                    bool
	workers                 int
}

// maxWorkers bounds -workers.
const maxWorkers = 4096

func parseEval(args []string, stderr io.Writer) (*evalArgs, error) {
	fs := newFlags("eval", "eval -manifest M.tsv [-model FILE] [-json] [-embeddings OUT.tsv]\n\n"+
		"M.tsv: header `path identity role`, role gallery|probe|distractor, paths relative to the TSV;\n"+
		"each image is the face crop, embedded whole. Metrics: see tools/eval.", stderr)
	var a evalArgs
	fs.StringVar(&a.manifest, "manifest", "", "eval manifest TSV (required)")
	fs.StringVar(&a.model, "model", "", "model file (default: the shipped model)")
	fs.BoolVar(&a.json, "json", false, "print exactly one JSON object on stdout")
	fs.StringVar(&a.embOut, "embeddings", "", "write path<TAB>v1,v2,... per manifest row to this file")
	fs.IntVar(&a.workers, "workers", 0, fmt.Sprintf("embedding goroutines (default: GOMAXPROCS; at most %d)", maxWorkers))
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if a.manifest == "" || fs.NArg() > 0 {
		fs.Usage()
		return nil, errors.New("-manifest is required")
	}
	if err := intIn("workers", a.workers, 0, maxWorkers); err != nil {
		return nil, err
	}
	return &a, nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	a, err := parseEval(args, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	rows, err := eval.ReadManifest(a.manifest)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s: no rows", a.manifest)
	}
	m, err := loadModel(a.model)
	if err != nil {
		return err
	}
	t0 := time.Now()
	embs, err := eval.EmbedFiles(context.Background(), m, eval.Paths(rows), eval.EmbedOptions{Workers: a.workers, Progress: progress(stderr, "embedding")})
	if err != nil {
		return err
	}
	embedSec := time.Since(t0).Seconds()
	if a.embOut != "" {
		if err := writeEmbeddings(a.embOut, rows, embs); err != nil {
			return err
		}
	}
	rep, err := eval.Evaluate(rows, embs, pack.BuildOptions{Name: "eval", ModelSHA256: m.Info().SHA256})
	if err != nil {
		return err
	}
	rep.ModelSHA256 = m.Info().SHA256
	rep.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(stderr, "embedded %d images in %.2fs (%.0f images/s)\n", len(rows), embedSec, float64(len(rows))/embedSec)
	if a.json {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "model %s: %d identities, %d gallery, %d probe, %d distractor images\n",
		rep.ModelSHA256, rep.NIdentities, rep.NGallery, rep.NProbe, rep.NDistractor)
	fmt.Fprintf(stdout, "icf_rank1        %.4f\npack_top1        %.4f\npack_top5        %.4f\ndir_at_far_1pct  %.4f\ntar_at_far_1e-3  %.4f\nseconds          %.2f\n",
		rep.ICFRank1, rep.PackTop1, rep.PackTop5, rep.DIRAtFAR1pct, rep.TARAtFAR1e3, rep.Seconds)
	return nil
}

func writeEmbeddings(name string, rows []eval.Row, embs [][]float32) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i, r := range rows {
		if err := writeEmbedding(w, r.Path, embs[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
