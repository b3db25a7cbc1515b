package main

import (
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// safeCLI is cli, with a panic turned into a test error.
func safeCLI(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%q panicked: %v", args, r)
			code, stderr = -1, fmt.Sprint(r)
		}
	}()
	code, _, stderr = cli(args...)
	return code, stderr
}

// TestHostileFlagValuesAreErrors: three flag values that used to panic, run end to end on a
// real (tiny) model, pack and images. Before: identify -k 9223372036854775807 panicked in
// pack.Matcher.Match (make with cap k), pack build -far NaN in pack.ThresholdAtFAR
// (s[int(NaN)]), embed -box 9223372036854775807,0,10,10 in model.Preprocess (x+w overflowed, so
// Dx() was negative and passed the size check).
func TestHostileFlagValuesAreErrors(t *testing.T) {
	mdl := tinyModel(t, 1)
	dir := testSet(t)
	pk := buildTestPack(t, mdl, dir)
	img := filepath.Join(dir, "img", "red2.png")
	gal, cal := filepath.Join(dir, "gallery.tsv"), filepath.Join(dir, "calib.tsv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"identify", "-pack", pk, "-model", mdl, "-k", "9223372036854775807", img}, "-k 9223372036854775807: want 1.."},
		{[]string{"pack", "build", "-gallery", gal, "-calib", cal, "-o", t.TempDir(), "-model", mdl, "-far", "NaN"}, "-far NaN"},
		{[]string{"embed", "-model", mdl, "-box", "9223372036854775807,0,10,10", img}, "out of range"},
		{[]string{"embed", "-model", mdl, "-box", "9223372036854775800,0,10,10", img}, "out of range"},
	} {
		code, errs := safeCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error mentioning %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestNumericFlagsChecked: every numeric flag of every subcommand refuses out-of-range values,
// NaN and ±Inf with an error naming it, before any work (parse functions only).
func TestNumericFlagsChecked(t *testing.T) {
	base := map[string][]string{
		"quantize":        {"m.onnx", "-calib", "c", "-o", "o.tmdl"},
		"embed":           {"a.png"},
		"pack build":      {"-gallery", "g.tsv", "-o", "out"},
		"identify":        {"-pack", "p", "a.png"},
		"eval":            {"-manifest", "m.tsv"},
		"collect propose": {"-in", "i", "-o", "o"},
		"collect apply":   {"-review", "r", "-labels", "l.tsv", "-o", "o"},
		"serve":           {},
	}
	bad := map[string][]string{
		"quantize":        {"-n=0", "-n=-1", "-n=99999999999", "-min-cos=NaN", "-min-cos=2", "-min-cos=-Inf", "-mean=NaN,0,0", "-mean=2,0,0", "-std=0,1,1", "-std=Inf,1,1", "-std=1,1,-1"},
		"embed":           {"-box=9223372036854775807,0,10,10", "-box=0,0,0,10", "-box=0,0,10,-1", "-box=-9223372036854775808,0,1,1", "-box=0,0,2000000000,1"},
		"pack build":      {"-far=NaN", "-far=0", "-far=1", "-far=-0.5", "-far=Inf", "-threshold=NaN", "-threshold=7", "-threshold=-Inf", "-ivf=-1", "-ivf=9223372036854775807", "-nprobe=-1", "-nprobe=1000000000", "-shard-rows=0", "-shard-rows=9223372036854775807"},
		"identify":        {"-k=0", "-k=-5", "-k=9223372036854775807", "-box=1,1,1", "-box=0,0,1,99999999999", "-at=NaN,1", "-at=1,Inf", "-at=-1,0", "-at=1e300,1", "-at=1"},
		"eval":            {"-workers=-1", "-workers=9223372036854775807"},
		"collect propose": {"-enlarge=NaN", "-enlarge=0.5", "-enlarge=100", "-link=NaN", "-link=-1", "-link=1.5", "-dedup=0", "-dedup=NaN", "-dedup=Inf", "-dedup=-1", "-min-side=0", "-min-side=-9", "-dedup-window=0", "-dedup-window=9223372036854775807", "-min-size=0", "-max-proposals=0", "-max-proposals=9223372036854775807", "-threshold=NaN", "-threshold=3", "-grid=0", "-grid=1,99999999999999999999"},
		"collect apply":   {"-max-side=0", "-max-side=-1", "-max-side=9223372036854775807"},
		"serve":           {"-addr=127.0.0.1:99999", "-addr=nocolon"},
	}
	parse := map[string]func([]string, io.Writer) error{}
	for _, c := range commands() {
		parse[c.name] = c.parse
	}
	sub := func(name string) ([]string, func([]string, io.Writer) error) {
		if cmd, s, ok := strings.Cut(name, " "); ok {
			return []string{s}, parse[cmd]
		}
		return nil, parse[name]
	}
	for name, flags := range bad {
		pre, p := sub(name)
		if err := p(append(append([]string{}, pre...), base[name]...), io.Discard); err != nil {
			t.Errorf("%s %v: the base arguments fail: %v", name, base[name], err)
		}
		for _, f := range flags {
			// Flags first: some subcommands stop parsing flags at the first positional argument.
			args := append(append(append([]string{}, pre...), f), base[name]...)
			err := p(args, io.Discard)
			flagName, _, _ := strings.Cut(strings.TrimPrefix(f, "-"), "=")
			if err == nil {
				t.Errorf("%s %s: accepted", name, f)
			} else if !strings.Contains(err.Error(), flagName) && !strings.Contains(err.Error(), "invalid value") {
				t.Errorf("%s %s: error %q does not name the flag", name, f, err)
			}
		}
	}
}

// FuzzArgs runs every subcommand's argument parsing and checking (never the work) on fuzzed
// arguments: it must return, with or without an error, and never panic.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{
		"identify -pack p -k 9223372036854775807 a.png",
		"identify -pack p -at 1e308,NaN a.png",
		"identify -pack p -box 9223372036854775807,0,10,10 a.png",
		"pack build -gallery g -o o -far NaN -ivf 99999999",
		"pack inspect -json d",
		"embed -box -9223372036854775808,-1,1,1 x",
		"collect propose -in i -o o -grid 1,2,99 -link -1 -dedup Inf",
		"collect apply -review r -labels l -o o -max-side 0",
		"quantize m.onnx -calib c -o o -mean nan,0,0 -std 0,0,0 -n -1",
		"eval -manifest m -workers 99999999999",
		"serve -addr :99999 -origins ,,,",
		"publish -persist-to x -n",
		"pack", "collect", "pack -h", "embed -h",
	} {
		f.Add(s)
	}
	cmds := commands()
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) == 0 {
			return
		}
		for _, c := range cmds {
			if c.name == args[0] {
				c.parse(args[1:], io.Discard)
				return
			}
		}
		// Anything else: every command's parser on the same arguments.
		for _, c := range cmds {
			c.parse(args, io.Discard)
		}
	})
}

// TestPreprocessOverflowedBox: the library refuses a box whose width overflows, without the
// CLI's check in front (model.Preprocess panicked: slice bounds out of range).
func TestPreprocessOverflowedBox(t *testing.T) {
	m, err := loadModel(tinyModel(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 72, 72))
	nrgba := image.NewNRGBA(img.Rect)
	gray := image.NewGray(img.Rect)
	big := math.MaxInt
	for _, box := range []image.Rectangle{
		image.Rect(big, 0, big+10, 10), // as parseBox made it: x+w wrapped
		image.Rect(big-7, 0, big-7+10, 10),
		{Min: image.Pt(math.MinInt, math.MinInt), Max: image.Pt(math.MaxInt, math.MaxInt)},
		{Min: image.Pt(-1, 0), Max: image.Pt(math.MaxInt, 10)},
	} {
		for _, im := range []image.Image{img, nrgba, gray} {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("EmbedImage(%T, %v) panicked: %v", im, box, r)
					}
				}()
				if _, err := m.EmbedImage(im, box); err == nil {
					t.Errorf("EmbedImage(%T, %v) accepted", im, box)
				}
			}()
		}
		if _, err := m.Preprocess(nil, img.Pix, img.Stride, 72, 72, box); err == nil {
			t.Errorf("Preprocess(%v) accepted", box)
		}
	}
}
