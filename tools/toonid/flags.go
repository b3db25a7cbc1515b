package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"
	"strings"
)

// Every subcommand parses and checks its arguments in a parse function of its own, before any
// work: every numeric flag is range-checked (NaN and ±Inf refused) by intIn / floatIn / the
// parsers below, so a hostile value is a clear error rather than a panic deep in a package.
// FuzzArgs runs each command's parse function (and nothing else) on fuzzed arguments.

// maxCoord bounds pixel coordinates and sizes given on the command line (-box): x+w and y+h
// cannot overflow, and no image the tools decode is anywhere near it.
const maxCoord = 1 << 30

// newFlags makes a flag set that reports errors to stderr, with a usage line.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: toonid %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// intIn checks -name's value against lo..hi.
func intIn(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("-%s %d: want %d..%d", name, v, lo, hi)
	}
	return nil
}

// floatIn checks -name's value against lo..hi (so NaN and ±Inf fail).
func floatIn(name string, v, lo, hi float64) error {
	if !(v >= lo && v <= hi) {
		return fmt.Errorf("-%s %v: want a number in %g..%g", name, v, lo, hi)
	}
	return nil
}

// parseBox reads "x,y,w,h": integers, x and y within ±maxCoord, w and h in 1..maxCoord.
func parseBox(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x,y,w,h", clipArg(s))
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: want x,y,w,h as integers: %w", clipArg(s), err)
		}
		if n < -maxCoord || n > maxCoord {
			return image.Rectangle{}, fmt.Errorf("box %q: %d is out of range (want -%d..%d)", clipArg(s), n, maxCoord, maxCoord)
		}
		v[i] = n
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("box %q: width and height must be positive", clipArg(s))
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// parsePoint reads "x,y": finite numbers >= 0 (the image's own bounds are checked later).
func parsePoint(s string) (x, y float64, err error) {
	a, b, ok := strings.Cut(s, ",")
	if ok {
		x, err = strconv.ParseFloat(strings.TrimSpace(a), 64)
	}
	if ok && err == nil {
		y, err = strconv.ParseFloat(strings.TrimSpace(b), 64)
	}
	if !ok || err != nil || !(x >= 0 && x <= maxCoord && y >= 0 && y <= maxCoord) {
		return 0, 0, fmt.Errorf("%q: want x,y (numbers in 0..%d)", clipArg(s), maxCoord)
	}
	return x, y, nil
}

// parseTriple reads three comma-separated finite numbers, each in lo..hi.
func parseTriple(s string, lo, hi float64) ([3]float32, error) {
	var v [3]float32
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return v, fmt.Errorf("want three comma-separated numbers, got %q", clipArg(s))
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return v, err
		}
		if !(f >= lo && f <= hi) {
			return v, fmt.Errorf("%v: want numbers in %g..%g", f, lo, hi)
		}
		v[i] = float32(f)
	}
	return v, nil
}

// clipArg keeps hostile arguments short in error messages.
func clipArg(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// smallestPositive is the least float32 above 0: "above 0" for flags converted to float32.
const smallestPositive = math.SmallestNonzeroFloat32

// parseInterleaved parses fs over args where flags may come before or after the positional
// arguments (flag.Parse alone stops at the first positional), and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	return pos, nil
}
