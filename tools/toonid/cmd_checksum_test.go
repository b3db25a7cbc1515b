package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChecksumCommand(t *testing.T) {
	const tiny = "../../model/testdata/tiny_v2_f32.tmdl"
	const mirror = "../../model/testdata/tiny_v2_int8_mirror.tmdl"
	notModel := filepath.Join(t.TempDir(), "x.tmdl")
	if err := os.WriteFile(notModel, []byte(strings.Repeat("x", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		errWant string
	}{
		{"one file", []string{tiny}, 0, "756165f3255cbf6e48ccabe2d8688459a80f819375828cd81b63f5d5a9542f1b  " + tiny + "\n", ""},
		{"two files", []string{tiny, mirror}, 0, "756165f3255cbf6e48ccabe2d8688459a80f819375828cd81b63f5d5a9542f1b  " + tiny + "\n" +
			"63f5263688464ce90ccc04934f47f814fa70d876453691359db7d4e9bfedc2e7  " + mirror + "\n", ""},
		{"not a model", []string{notModel}, 1, "", "bad magic"},
		{"missing", []string{filepath.Join(t.TempDir(), "nope.tmdl")}, 1, "", "no such file"},
		{"no files", nil, 1, "", "no model files given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := cli(append([]string{"checksum"}, c.args...)...)
			if code != c.code || out != c.stdout || !strings.Contains(errs, c.errWant) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q", code, out, errs, c.code, c.stdout, c.errWant)
			}
		})
	}
}
