package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/serve"
)

// publishArgs are publish's checked arguments.
type publishArgs struct {
	storeDir, bucket, persist, config, wrangler string
	local, dryRun                               bool
}

func parsePublish(args []string, stderr io.Writer) (*publishArgs, error) {
	fl := flag.NewFlagSet("publish", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var a publishArgs
	fl.StringVar(&a.storeDir, "store", "build/store", "store directory to publish (models/, packs/)")
	fl.StringVar(&a.bucket, "bucket", "toonid-store", "R2 bucket name (wrangler.toml's bucket_name)")
	fl.BoolVar(&a.local, "local", false, "put into wrangler's local R2 simulator instead of Cloudflare")
	fl.StringVar(&a.persist, "persist-to", "", "with -local: wrangler state directory (as given to wrangler dev --persist-to)")
	fl.StringVar(&a.config, "config", "", "wrangler.toml to use (default: wrangler's own lookup)")
	fl.StringVar(&a.wrangler, "wrangler", "", "wrangler command (default: node_modules/.bin/wrangler if present, else npx wrangler)")
	fl.BoolVar(&a.dryRun, "n", false, "print the wrangler commands instead of running them")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if a.persist != "" && !a.local {
		return nil, fmt.Errorf("-persist-to needs -local")
	}
	return &a, nil
}

func runPublish(args []string, stdout, stderr io.Writer) error {
	a, err := parsePublish(args, stderr)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(a.storeDir)
	if err != nil {
		return fmt.Errorf("open store: %w (build it with: make default-pack)", err)
	}
	defer root.Close()
	plan, skipped, err := serve.PublishPlan(root.FS(), checkAddressed)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "toonid publish: skipping %s (not a served key)\n", s)
	}
	cmdline := wranglerCommand(a.wrangler)
	tmp, err := os.MkdirTemp("", "toonid-publish-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var total int64
	start := time.Now()
	for i, u := range plan {
		file := filepath.Join(a.storeDir, filepath.FromSlash(u.Key))
		if u.Data != nil {
			file = filepath.Join(tmp, fmt.Sprintf("generated-%d", i))
			if err := os.WriteFile(file, u.Data, 0o644); err != nil {
				return err
			}
		}
		argv := append(append([]string{}, cmdline...), "r2", "object", "put", a.bucket+"/"+u.Key, "--file="+file,
			"--content-type="+u.ContentType, "--cache-control="+u.CacheControl)
		if a.local {
			argv = append(argv, "--local")
			if a.persist != "" {
				argv = append(argv, "--persist-to="+a.persist)
			}
		} else {
			argv = append(argv, "--remote")
		}
		if a.config != "" {
			argv = append(argv, "--config="+a.config)
		}
		if a.dryRun {
			fmt.Fprintln(stdout, shellJoin(argv))
			continue
		}
		if err := runWrangler(argv); err != nil {
			return fmt.Errorf("put %s (%d of %d; objects before it are in place, the manifests after it are not): %w",
				u.Key, i+1, len(plan), err)
		}
		total += u.Size
		fmt.Fprintf(stdout, "put %s (%d bytes)\n", u.Key, u.Size)
	}
	if !a.dryRun {
		where := "R2 bucket " + a.bucket
		if a.local {
			where = "local R2 bucket " + a.bucket
		}
		fmt.Fprintf(stdout, "published %d objects, %d bytes, to %s in %.1fs\n", len(plan), total, where,
			time.Since(start).Seconds())
	}
	return nil
}

// checkAddressed accepts a content-addressed file whose bytes hash to its name, or a
// model file named by its own checksum (model.Info().SHA256, the sha256 of bytes 40..end
// stored in its header), which is how the pack room names models: model.Load verifies it.
func checkAddressed(fsys fs.FS, key, sum string) error {
	err := serve.CheckSHA256(fsys, key, sum)
	if err == nil || !strings.HasPrefix(key, "models/") {
		return err
	}
	b, rerr := fs.ReadFile(fsys, key)
	if rerr != nil {
		return rerr
	}
	m, lerr := model.Load(b)
	if lerr != nil {
		return fmt.Errorf("%w; and not a loadable model: %v", err, lerr)
	}
	if got := m.Info().SHA256; got != sum {
		return fmt.Errorf("%s: neither the file's sha256 nor the model's checksum %s matches the name", key, got)
	}
	return nil
}

func wranglerCommand(flagValue string) []string {
	if flagValue != "" {
		return strings.Fields(flagValue)
	}
	if _, err := os.Stat("node_modules/.bin/wrangler"); err == nil {
		return []string{"node_modules/.bin/wrangler"}
	}
	return []string{"npx", "--no-install", "wrangler"}
}

// runWrangler runs one wrangler command with telemetry off; its output is shown only
// when it fails, since a put prints several lines of banner.
func runWrangler(argv []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv[:min(len(argv), 5)], " "), err, tail(out, 2000))
	}
	return nil
}

// shellJoin quotes what a shell would split, so -n output can be pasted.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t'\"$`\\;&|<>()*?[]#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
