package serve

import (
	"errors"
	"strconv"
	"strings"
)

var (
	errIgnoreRange = errors.New("serve: range ignored")
	errBadRange    = errors.New("serve: malformed range")
	errNoOverlap   = errors.New("serve: range does not overlap")
)

type byteRange struct{ start, length int64 }

// parseRange parses a Range header against size. It follows net/http.ServeContent for a
// single range (bytes=a-b, a-, -n; malformed or non-overlapping -> 416, always
// with Content-Range: bytes */size, where ServeContent sends it only for the latter) and serves the
// whole body (errIgnoreRange) for several ranges, which RFC 9110 allows, to keep
// multipart bodies out of both hosts.
func parseRange(s string, size int64) (byteRange, error) {
	spec, ok := strings.CutPrefix(s, "bytes=")
	if !ok {
		return byteRange{}, errBadRange
	}
	if strings.Contains(spec, ",") {
		return byteRange{}, errIgnoreRange
	}
	start, end, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, errBadRange
	}
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if start == "" {
		// Suffix: the last n bytes. A zero suffix selects nothing and is unsatisfiable.
		n, err := parseDigits(end)
		if err != nil {
			return byteRange{}, errBadRange
		}
		if n == 0 || size == 0 {
			return byteRange{}, errNoOverlap
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, nil
	}
	a, err := parseDigits(start)
	if err != nil {
		return byteRange{}, errBadRange
	}
	if a >= size {
		return byteRange{}, errNoOverlap
	}
	if end == "" {
		return byteRange{start: a, length: size - a}, nil
	}
	b, err := parseDigits(end)
	if err != nil || b < a {
		return byteRange{}, errBadRange
	}
	b = min(b, size-1)
	return byteRange{start: a, length: b - a + 1}, nil
}

// parseDigits accepts only ASCII digits (no sign), as the Range grammar does.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, errBadRange
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadRange
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
