package eval

import (
	"errors"
	"strings"
	"testing"
)

func TestScanTSVComments(t *testing.T) {
	in := "# before the header\nid\tname\n# between rows\na\tA\nb\tB\n"
	var comments []string
	var rows []string
	err := ScanTSVComments(strings.NewReader(in), "t.tsv", []string{"id"}, []string{"name"},
		func(ln int, line string) error { comments = append(comments, line); return nil },
		func(ln int, row map[string]string) error { rows = append(rows, row["id"]+row["name"]); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(comments, "|") != "# before the header|# between rows" || strings.Join(rows, ",") != "aA,bB" {
		t.Errorf("comments %q rows %q", comments, rows)
	}
	// ScanTSV is ScanTSVComments without the hook: the same rows.
	rows = nil
	if err := ScanTSV(strings.NewReader(in), "t.tsv", []string{"id"}, []string{"name"},
		func(ln int, row map[string]string) error { rows = append(rows, row["id"]+row["name"]); return nil }); err != nil || len(rows) != 2 {
		t.Errorf("ScanTSV: rows %q, %v", rows, err)
	}
	stop := errors.New("stop")
	err = ScanTSVComments(strings.NewReader(in), "t.tsv", []string{"id"}, nil,
		func(ln int, line string) error { return stop },
		func(ln int, row map[string]string) error {
			t.Error("a row after the comment stopped the scan")
			return nil
		})
	if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), "t.tsv:1: ") {
		t.Errorf("comment error %v, want it with its location", err)
	}
}
