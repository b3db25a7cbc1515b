package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestReliability runs every case of the BENCHMARKS.md reliability table: each input must be
// refused or accepted as its row says, none may panic (or get a 5xx from the server), and none
// may allocate more than its bound (runtime.MemStats counts, not timings). The memory bombs
// are here: the 63 MiB manifest of 22 M labels (5.86 GB before the labels were counted first)
// is bounded at 128 MiB, the 16-bit PNG bomb and the ivf.count list table at 16 MiB.
func TestReliability(t *testing.T) {
	cases, err := buildCases(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		r := runCase(c)
		for _, m := range r.wrong {
			t.Errorf("%s: %s: %s", c.entry, c.input, m)
		}
	}
}

// TestRunCase: the harness itself tells a refusal, an acceptance, a panic and an allocation
// over the bound apart, so a passing TestReliability means something.
func TestRunCase(t *testing.T) {
	sink := [][]byte{}
	for _, tc := range []struct {
		c     kase
		wrong bool
	}{
		{kase{want: refuse, run: func(int) error { return nil }}, true},
		{kase{want: accept, run: func(int) error { return errTest }}, true},
		{kase{want: either, run: func(int) error { panic("boom") }}, true},
		{kase{want: accept, maxAlloc: 1 << 20, run: func(int) error { sink = append(sink, make([]byte, 8<<20)); return nil }}, true},
		{kase{want: refuse, n: 3, run: func(int) error { return errTest }}, false},
		{kase{want: either, n: 2, run: func(i int) error {
			if i == 0 {
				return errTest
			}
			return nil
		}}, false},
	} {
		r := runCase(tc.c)
		if (len(r.wrong) > 0) != tc.wrong {
			t.Errorf("case %+v: wrong %q", tc.c, r.wrong)
		}
	}
	_ = sink
}

var errTest = errors.New("refused")

func TestSplice(t *testing.T) {
	doc := []byte("a\n" + beginMarker + "\nold\n" + endMarker + "\nb\n")
	got, err := splice(doc, []byte("new\n"))
	if err != nil || string(got) != "a\n"+beginMarker+"\nnew\n"+endMarker+"\nb\n" {
		t.Fatalf("splice = %q, %v", got, err)
	}
	if _, err := splice([]byte("no markers"), nil); err == nil {
		t.Error("a document without markers was accepted")
	}
	var b bytes.Buffer
	table(&b, []row{{kase: kase{entry: "e", input: "a | b"}, tried: 1, refused: 1, firstErr: "x\ny"}})
	if !strings.Contains(b.String(), `a \| b`) || strings.Contains(b.String(), "x\ny") {
		t.Errorf("table cells not escaped: %s", b.String())
	}
}
