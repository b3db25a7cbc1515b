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

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "eval -manifest M.tsv [-model FILE] [-json] [-embeddings OUT.tsv]\n\n"+
		"M.tsv: header `path identity role`, role gallery|probe|distractor, paths relative to the TSV;\n"+
		"each image is the face crop, embedded whole. Metrics: see tools/eval.", stderr)
	manifest := fs.String("manifest", "", "eval manifest TSV (required)")
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	asJSON := fs.Bool("json", false, "print exactly one JSON object on stdout")
	embOut := fs.String("embeddings", "", "write path<TAB>v1,v2,... per manifest row to this file")
	workers := fs.Int("workers", 0, "embedding goroutines (default: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *manifest == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-manifest is required")
	}
	start := time.Now()
	rows, err := eval.ReadManifest(*manifest)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s: no rows", *manifest)
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	embs, err := eval.EmbedFiles(context.Background(), m, eval.Paths(rows), eval.EmbedOptions{Workers: *workers, Progress: progress(stderr, "embedding")})
	if err != nil {
		return err
	}
	embedSec := time.Since(t0).Seconds()
	if *embOut != "" {
		if err := writeEmbeddings(*embOut, rows, embs); err != nil {
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
	if *asJSON {
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
