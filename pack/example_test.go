package pack_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/toonid/toonid/pack"
)

// Open a pack directory (what `toonid pack build` writes) for the loaded model, and match an
// embedding against it. The model's sha256 is model.Info().SHA256; a pack built with another
// model is refused, because its vectors mean nothing to this one.
func ExampleOpen() {
	const modelSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	p, err := pack.Open(os.DirFS("testdata/small"), pack.OpenOptions{ModelSHA256: modelSHA256})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pack %q: %d characters, %d-value embeddings, threshold %.2f\n", p.Name, len(p.Labels), p.Dim, p.Threshold)

	m, err := pack.NewMatcher(p)
	if err != nil {
		log.Fatal(err)
	}
	q := make([]float32, p.Dim) // an embedding from model.EmbedImage; any scale works
	q[0] = 1
	r, err := m.Match(q, 3)
	if err != nil {
		log.Fatal(err)
	}
	// r.Unknown says the best score is below the threshold: the face is none of these characters.
	fmt.Println(len(r.Answers), "answers, best first")

	_, err = pack.Open(os.DirFS("testdata/small"), pack.OpenOptions{ModelSHA256: "ff" + modelSHA256[2:]})
	fmt.Println(errors.Is(err, pack.ErrModelMismatch))
	// Output:
	// pack "small": 6 characters, 16-value embeddings, threshold 0.50
	// 3 answers, best first
	// true
}
