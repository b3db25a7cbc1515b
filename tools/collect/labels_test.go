package collect

import (
	"strings"
	"testing"
)

// smallProposals is a valid proposals.json of two images and three proposals.
func smallProposals() *Proposals {
	h := strings.Repeat("ab", 32)
	return &Proposals{
		Format: FormatName, Version: FormatVersion, Run: "0123456789abcdef", Root: "/frames",
		Model: ModelRef{SHA256: h, Input: 96},
		Images: []Image{
			{Path: "a.png", Width: 100, Height: 80, SHA256: h},
			{Path: "sub/b.png", Width: 50, Height: 50, SHA256: h},
		},
		Clusters: []Cluster{
			{ID: "c0001", Cohesion: 0.8, Members: []Member{
				{ID: "p000000", Image: 0, Path: "a.png", Box: [4]int{0, 0, 80, 80}, Score: 0.9},
				{ID: "p000001", Image: 1, Path: "sub/b.png", Box: [4]int{0, 0, 50, 50}, Score: 0.9, Dups: 2},
			}},
			{ID: "c0002", Cohesion: 1, Suggestion: &Suggestion{ID: "owl", Name: "Owl", Score: 0.8}, Members: []Member{
				{ID: "p000002", Image: 0, Path: "a.png", Box: [4]int{20, 0, 60, 60}, Score: 1,
					Match: &Suggestion{ID: "owl", Name: "Owl", Score: 0.8}},
			}},
		},
	}
}

func TestReadLabels(t *testing.T) {
	const hdr = "proposal\tidentity\tname\tseries\tcredit\n"
	for _, tc := range []struct {
		name string
		in   string
		rows int
		run  string
		err  string
	}{
		{"what the page exports", "# toonid-collect-labels run=0123456789abcdef\n" + hdr +
			"p000000\tsintel\tSintel\tSintel (2010)\t(c) Blender Foundation\np000001\tsintel\tSintel\tSintel (2010)\t(c) Blender Foundation\n",
			2, "0123456789abcdef", ""},
		{"hand-written, two columns, CRLF", "proposal\tidentity\r\np000000\towl\r\n\r\n# a comment\r\n", 1, "", ""},
		{"columns in any order, a box", "identity\tbox\tproposal\nowl\t1,2,30,30\tp000002\n", 1, "", ""},
		{"missing identity column", "proposal\tname\np000000\tOwl\n", 0, "", `lacks column "identity"`},
		{"column twice", "proposal\tidentity\tidentity\n", 0, "", "twice"},
		{"empty file", "", 0, "", "empty file"},
		{"bad proposal id", hdr + "../../etc/passwd\towl\n", 0, "", "want an id"},
		{"empty identity", hdr + "p000000\t \n", 0, "", "identity"},
		{"control character", hdr + "p000000\towl\tO\x01wl\n", 0, "", "control character"},
		{"invalid UTF-8", hdr + "p000000\towl\t\xff\n", 0, "", "UTF-8"},
		{"long identity", hdr + "p000000\t" + strings.Repeat("x", 300) + "\n", 0, "", "limit 256"},
		{"bad box", "proposal\tidentity\tbox\np000000\towl\t1,2,3\n", 0, "", "want x,y,w,h"},
		{"empty box", "proposal\tidentity\tbox\np000000\towl\t1,2,0,3\n", 0, "", "must be positive"},
		{"two runs", "# toonid-collect-labels run=0123456789abcdef\n# toonid-collect-labels run=fedcba9876543210\n" + hdr, 0, "", "different run"},
		{"errors are gathered", hdr + "x\towl\ny\towl\n", 0, "", "2 bad rows"},
		// The rules every tool's TSV reader shares (eval.ScanTSV):
		{"byte-order mark", "\ufeff" + hdr + "p000000\towl\n", 1, "", ""},
		{"run comment after the header", hdr + "# toonid-collect-labels run=0123456789abcdef\np000000\towl\n", 1, "0123456789abcdef", ""},
		{"empty proposal cell", hdr + "\towl\n", 0, "", `labels.tsv:2: empty "proposal"`},
		{"long line", hdr + "p000000\towl\t" + strings.Repeat("x", 1<<20) + "\n", 0, "", "line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadLabels(strings.NewReader(tc.in), "labels.tsv")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Rows) != tc.rows || l.Run != tc.run {
				t.Fatalf("%d rows, run %q; want %d, %q", len(l.Rows), l.Run, tc.rows, tc.run)
			}
		})
	}
	l, err := ReadLabels(strings.NewReader("identity\tbox\tproposal\tname\n owl \t1,2,30,30\tp000002\tOwl\n"), "labels.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if r := l.Rows[0]; r.Proposal != "p000002" || r.Identity != "owl" || r.Name != "Owl" || r.Box == nil || *r.Box != [4]int{1, 2, 30, 30} || r.Line != 2 {
		t.Errorf("row %+v", r)
	}
}

func TestCheckLabels(t *testing.T) {
	const hdr = "proposal\tidentity\tname\tseries\tcredit\tbox\n"
	for _, tc := range []struct {
		name string
		in   string
		err  string
	}{
		{"good", "# toonid-collect-labels run=0123456789abcdef\n" + hdr + "p000000\tsintel\tSintel\n" + "p000002\towl\tOwl\t\t\t20,0,60,60\n", ""},
		{"unknown proposal", hdr + "p000009\towl\n", "p000009 is not in proposals.json"},
		{"named twice", hdr + "p000000\towl\np000001\towl\np000000\tsintel\n", "named again (first on line 2)"},
		{"box outside the image", hdr + "p000001\towl\t\t\t\t10,10,50,50\n", "outside the 50x50 image"},
		{"identity with two names", hdr + "p000000\towl\tOwl\np000001\towl\tOwlet\n", `identity "owl" has name "Owlet", but "Owl" on line 2`},
		{"another run", "# toonid-collect-labels run=fedcba9876543210\n" + hdr + "p000000\towl\n", "exported for proposals run fedcba9876543210"},
		{"nothing named", hdr, "names no proposals"},
		{"several problems at once", hdr + "p000007\towl\np000008\towl\n", "2 problems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadLabels(strings.NewReader(tc.in), "labels.tsv")
			if err != nil {
				t.Fatal(err)
			}
			err = Check(smallProposals(), l, "labels.tsv")
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestValidateProposals(t *testing.T) {
	if err := smallProposals().Validate(); err != nil {
		t.Fatalf("the valid example: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(p *Proposals)
		err    string
	}{
		{"version", func(p *Proposals) { p.Version = 2 }, "version 2"},
		{"escaping image path", func(p *Proposals) { p.Images[1].Path = "../b.png"; p.Clusters[0].Members[1].Path = "../b.png" }, "not a clean relative path"},
		{"absolute image path", func(p *Proposals) { p.Images[0].Path = "/etc/passwd" }, "not a clean relative path"},
		{"backslash", func(p *Proposals) { p.Images[0].Path = `a\..\b.png` }, "backslash"},
		{"image twice", func(p *Proposals) { p.Images[1].Path = "a.png"; p.Clusters[0].Members[1].Path = "a.png" }, "listed twice"},
		{"bad sha256", func(p *Proposals) { p.Images[0].SHA256 = "xyz" }, "64 hex digits"},
		{"member twice", func(p *Proposals) { p.Clusters[1].Members[0].ID = "p000000" }, "appears twice"},
		{"member id", func(p *Proposals) { p.Clusters[1].Members[0].ID = "thumbs/../../x" }, "want p and"},
		{"image index", func(p *Proposals) { p.Clusters[1].Members[0].Image = 5 }, "out of range"},
		{"path disagrees", func(p *Proposals) { p.Clusters[1].Members[0].Path = "other.png" }, "but image 0 is"},
		{"box outside", func(p *Proposals) { p.Clusters[1].Members[0].Box = [4]int{50, 0, 60, 60} }, "outside the 100x80 image"},
		{"negative box", func(p *Proposals) { p.Clusters[1].Members[0].Box = [4]int{-1, 0, 10, 10} }, "outside"},
		{"empty cluster", func(p *Proposals) { p.Clusters[1].Members = nil }, "no members"},
		{"cluster id twice", func(p *Proposals) { p.Clusters[1].ID = "c0001" }, "repeated"},
		{"suggestion text", func(p *Proposals) { p.Clusters[1].Suggestion.Name = "a\nb" }, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := smallProposals()
			tc.mutate(p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.err)
			}
		})
	}
	// Marshal sets the run from the content; decoding gives the same thing back.
	p := smallProposals()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeProposals(b)
	if err != nil || back.Run != p.Run || len(back.Run) != 16 || back.Clusters[0].Members[1].Dups != 2 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	p.Clusters[0].Cohesion = 0.5
	if b2, _ := p.Marshal(); string(b2) == string(b) || p.Run == back.Run {
		t.Error("the run id does not follow the content")
	}
	for _, bad := range []string{`{"format":"toonid-collect-proposals","version":1,"extra":1}`, `{} {}`, `[`} {
		if _, err := DecodeProposals([]byte(bad)); err == nil {
			t.Errorf("DecodeProposals(%s) accepted", bad)
		}
	}
}
