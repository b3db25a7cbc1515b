package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/toonid/toonid/model"
)

// BenchmarkEmbedGallery measures end-to-end embedding throughput (decode, preprocess, embed, on
// every core) of the shipped model over the default pack's gallery images.
func BenchmarkEmbedGallery(b *testing.B) {
	mb, err := os.ReadFile("../../model/shipped/toonid.tmdl")
	if err != nil {
		b.Skipf("no shipped model: %v", err)
	}
	m, err := model.Load(mb)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := ReadGallery("../gallery/gallery.tsv")
	if err != nil {
		b.Skipf("no gallery: %v", err)
	}
	paths := make([]string, len(rows))
	for i, r := range rows {
		paths[i] = filepath.Clean(r.Path)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := EmbedFiles(context.Background(), m, paths, EmbedOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(paths)*b.N)/b.Elapsed().Seconds(), "images/s")
}
