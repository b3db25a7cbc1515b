package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTSVHostile: a byte-order mark is not part of the first column's name; a column named
// twice, an identity spelled two ways and an overlong line are errors that say where.
func TestTSVHostile(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string // "" = accepted
	}{
		{"BOM", "\ufeffpath\tidentity\tname\na.png\tred\tRed\n", ""},
		{"BOM and CRLF", "\ufeffpath\tidentity\r\na.png\tred\r\n", ""},
		{"duplicate column", "path\tidentity\tname\tname\na.png\tred\tRed\tRouge\n", `g.tsv:1: column "name" appears twice`},
		{"duplicate after comment", "# made by hand\npath\tpath\tidentity\na.png\tb.png\tred\n", `g.tsv:2: column "path" appears twice`},
		{"conflicting names", "path\tidentity\tname\na.png\tred\tRed\nb.png\tblue\tBlue\nc.png\tred\tRouge\n",
			`g.tsv:4: identity "red" is named "Rouge" here but "Red" on line 2`},
		{"same name twice", "path\tidentity\tname\na.png\tred\tRed\nc.png\tred\tRed\nd.png\tred\t\n", ""},
		{"long line", "path\tidentity\na.png\tred\n" + strings.Repeat("x", 2<<20) + "\n", "g.tsv:3: line longer than"},
		{"missing column says line", "path\tname\na.png\tx\n", `g.tsv:1: header lacks column "identity"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "g.tsv")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			rows, err := ReadGallery(p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(rows) == 0 || rows[0].Label.ID != "red" || !strings.HasSuffix(rows[0].Path, "a.png") {
					t.Fatalf("rows = %+v", rows)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
