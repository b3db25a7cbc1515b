package collect

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadLabels: labels.tsv comes from a browser download or a hand edit. The reader must never
// panic, and every row it accepts must be one Check and Apply can use as is.
func FuzzReadLabels(f *testing.F) {
	f.Add("# toonid-collect-labels run=0123456789abcdef\n" + LabelsHeader + "\np000000\tsintel\tSintel\tSintel (2010)\t(c) Blender\n")
	f.Add("proposal\tidentity\tbox\r\np000002\towl\t20,0,60,60\r\n")
	f.Add("identity\tproposal\n\n# x\nowl\tp000001\nowl\tp000001\n")
	f.Add("proposal\tidentity\tbox\np000002\towl\t-1,0,99999999999,1\n")
	f.Add("proposal\tidentity\tname\np000000\to\x00wl\t\xff\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ReadLabels(strings.NewReader(in), "labels.tsv")
		if err != nil {
			return
		}
		for _, r := range l.Rows {
			if !proposalID.MatchString(r.Proposal) || checkText(r.Identity, maxIDLen, true) != nil ||
				checkText(r.Name, maxTextLen, false) != nil || strings.ContainsAny(r.Series+r.Credit, "\t\n\r") {
				t.Fatalf("accepted a bad row %+v", r)
			}
			if r.Box != nil && (r.Box[2] <= 0 || r.Box[3] <= 0) {
				t.Fatalf("accepted an empty box %+v", r.Box)
			}
		}
		// Matching against any proposals never panics either.
		_ = Check(smallProposals(), l, "labels.tsv")
	})
}

// FuzzDecodeProposals: proposals.json sits in a folder a person may edit. Decoding must never
// panic; what it accepts is valid and encodes and decodes to the same thing.
func FuzzDecodeProposals(f *testing.F) {
	good, err := smallProposals().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"a.png"`), []byte(`"../a.png"`), -1))
	f.Add(bytes.Replace(good, []byte(`"box": [`), []byte(`"box": [-5, `), 1))
	f.Add([]byte(`{"format":"toonid-collect-proposals","version":1,"images":[],"clusters":[]}`))
	f.Add([]byte(`{"format":"toonid-collect-proposals","version":1,"clusters":[{"id":"c","members":[{"id":"p000001","image":-1}]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProposals(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded but invalid: %v", err)
		}
		again, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := DecodeProposals(again)
		if err != nil {
			t.Fatalf("re-encoded proposals do not decode: %v", err)
		}
		if again2, _ := q.Marshal(); !bytes.Equal(again, again2) {
			t.Fatal("encoding is not stable")
		}
		for _, c := range p.Clusters {
			for _, m := range c.Members {
				im := p.Images[m.Image]
				if checkBox(m.Box, im.Width, im.Height) != nil {
					t.Fatalf("member %s box %v outside %dx%d", m.ID, m.Box, im.Width, im.Height)
				}
			}
		}
	})
}
