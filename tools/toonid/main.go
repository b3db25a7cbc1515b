// Command toonid is the toonid command line: quantize models, build and inspect packs,
// identify and evaluate, collect galleries, serve and publish. Each subcommand is a thin shell
// over a package.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// A command is one subcommand. Its run function parses its own flags from args (with parse,
// which checks them and does nothing else: FuzzArgs calls it alone), then does the work.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
	parse   func(args []string, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"quantize", "convert a float ONNX model into an int8 toonid model file", runQuantize, parseOnly(parseQuantize)},
		{"embed", "print embeddings of images", runEmbed, parseOnly(parseEmbed)},
		{"pack", "build or inspect a centroid pack (pack build | pack inspect)", runPack, parsePack},
		{"identify", "name the character in an image using a pack", runIdentify, parseOnly(parseIdentify)},
		{"detect", "find cartoon faces: boxes and scores (detect IMAGE... | detect quantize)", runDetect, parseOnly(parseDetect)},
		{"checksum", "print a model file's content address (the name a store keeps it under)", runChecksum, parseOnly(parseChecksum)},
		{"eval", "evaluate a model on a manifest (iCartoonFace protocol + open-set metrics)", runEval, parseOnly(parseEval)},
		{"collect", "machine proposes, people verify: folder -> reviewed gallery (collect propose | apply)", runCollect, parseCollect},
		{"serve", "serve the demo site, model and packs on localhost", runServe, parseOnly(parseServe)},
		{"publish", "put model, pack shards and manifest into an R2 bucket with wrangler", runPublish, parseOnly(parsePublish)},
	}
}

// parseOnly drops a parse function's result, keeping its error.
func parseOnly[T any](parse func([]string, io.Writer) (T, error)) func([]string, io.Writer) error {
	return func(args []string, stderr io.Writer) error {
		_, err := parse(args, stderr)
		return err
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run dispatches to a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "toonid %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "toonid: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: toonid <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'toonid <command> -h' for a command's flags.")
}
