package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
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
	// Ctrl-C or SIGTERM stops the wrangler child too (its whole process group), rather than
	// leaving it to finish a put of an object whose manifest will never follow.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return publishMain(ctx, a, stdout, stderr)
}

// publishMain snapshots the store, checks the snapshot as a reader would and uploads the
// snapshot's files: what goes up is exactly what was checked, even if the store changes
// while wrangler runs (a shard rewritten mid-publish can no longer go up under the hash of
// its old bytes, with a year of immutable caching).
func publishMain(ctx context.Context, a *publishArgs, stdout, stderr io.Writer) error {
	tmp, err := os.MkdirTemp("", "toonid-publish-")
	if err != nil {
		return fmt.Errorf("temp folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, "store")
	if err := snapshotStore(a.storeDir, snap); err != nil {
		return err
	}
	snapFS := os.DirFS(snap)
	plan, skipped, err := serve.PublishPlan(snapFS, checkAddressed)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		why := "not a served key"
		if serve.EncodedCopy(s) {
			why = "a precompressed copy: the Worker sends bodies as stored, Cloudflare compresses at its edge"
		}
		fmt.Fprintf(stderr, "toonid publish: skipping %s (%s)\n", s, why)
	}
	if err := verifyPacks(snapFS, plan); err != nil {
		return fmt.Errorf("%w (nothing was uploaded)", err)
	}
	cmdline := wranglerCommand(a.wrangler)
	var total int64
	start := time.Now()
	for i, u := range plan {
		file := filepath.Join(snap, filepath.FromSlash(u.Key))
		if u.Data != nil {
			file = filepath.Join(tmp, fmt.Sprintf("generated-%d", i))
			if err := os.WriteFile(file, u.Data, 0o600); err != nil {
				return fmt.Errorf("write %s: %w", u.Key, err)
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
		if err := runWrangler(ctx, argv); err != nil {
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

// maxPublishFile bounds one file copied into the snapshot: larger than any model or shard a
// reader accepts (pack.MaxShardBytes is smaller), so a runaway file is refused, not copied.
const maxPublishFile = 1 << 30

// snapshotStore copies every regular file of the store at dir into dst, each read once.
// Symlinks, FIFOs and devices are left out (and so reported as skipped by the plan, or
// missing when a manifest names them): the store is an os.Root, nothing outside it is read.
func snapshotStore(dir, dst string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open store: %w (build it with: make default-pack)", err)
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read store: %w", err)
		}
		out := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyRegular(root, p, out)
	})
}

// copyRegular copies one regular file from root, refusing it if it is no longer regular
// when opened (non-blocking, so a FIFO swapped in cannot hang the publish).
func copyRegular(root *os.Root, name, out string) error {
	in, err := root.OpenFile(name, os.O_RDONLY|fsutil.OpenNonblock, 0)
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil {
		return fmt.Errorf("read store: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("read store: %s is not a regular file", name)
	} else if fi.Size() > maxPublishFile {
		return fmt.Errorf("read store: %s is %d bytes, limit %d", name, fi.Size(), maxPublishFile)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(in, maxPublishFile+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if n > maxPublishFile {
		return fmt.Errorf("read store: %s grew past %d bytes while read", name, maxPublishFile)
	}
	return nil
}

// verifyPacks opens every pack in the plan as a client would before anything is uploaded:
// the manifest decodes and validates, every shard it names is present with its size and
// sha256, every thumbnail it names is present and verified (pack.ReadThumbnail), and the model it was built for is in the
// store, loads, and embeds in the pack's dimension.
func verifyPacks(fsys fs.FS, plan []serve.Upload) error {
	planned := make(map[string]bool, len(plan))
	for _, u := range plan {
		planned[u.Key] = true
	}
	for _, u := range plan {
		dir, ok := strings.CutSuffix(u.Key, "/"+pack.ManifestFile)
		if !ok || !strings.HasPrefix(dir, "packs/") {
			continue
		}
		name := strings.TrimPrefix(dir, "packs/")
		sub, err := fs.Sub(fsys, dir)
		if err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		m, err := pack.ReadManifest(sub)
		if err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		if _, err := pack.OpenManifest(m, sub, pack.OpenOptions{}); err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		for _, l := range m.Labels {
			if l.Thumbnail != "" && !planned[dir+"/"+l.Thumbnail] {
				return fmt.Errorf("pack %s: label %q: thumbnail %s is not in the store", name, l.ID, l.Thumbnail)
			}
			if _, err := pack.ReadThumbnail(sub, l); err != nil { // size, JPEG, sha256 = name
				return fmt.Errorf("pack %s: %w", name, err)
			}
		}
		modelKey := "models/" + m.ModelSHA256 + ".tmdl"
		if !planned[modelKey] {
			return fmt.Errorf("pack %s: its model %s is not in the store (want %s)", name, m.ModelSHA256, modelKey)
		}
		b, err := fs.ReadFile(fsys, modelKey)
		if err != nil {
			return fmt.Errorf("pack %s: model: %w", name, err)
		}
		mod, err := model.Load(b)
		if err != nil {
			return fmt.Errorf("pack %s: model %s: %w", name, modelKey, err)
		}
		if k := mod.Info().Kind; k != model.KindEmbedder {
			return fmt.Errorf("pack %s: model %s is a %v, not an embedder", name, modelKey, k)
		}
		if got := mod.Info().EmbedDim; got != m.EmbedDim {
			return fmt.Errorf("pack %s: embed_dim %d, but its model embeds in %d", name, m.EmbedDim, got)
		}
	}
	return nil
}

// checkAddressed checks a content-addressed file against its name: a pack shard's whole
// bytes hash to it (serve.CheckSHA256), a model's content address (model.Checksum, the header
// checksum of model/FORMAT.md) is it. Models are named by their checksum, not the sha256 of
// the file, so that a pack manifest's model_sha256 and the store's name are the same string.
func checkAddressed(fsys fs.FS, key, sum string) error {
	if !strings.HasPrefix(key, "models/") {
		return serve.CheckSHA256(fsys, key, sum)
	}
	b, err := fs.ReadFile(fsys, key)
	if err != nil {
		return err
	}
	got, err := model.Checksum(b)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if got != sum {
		return fmt.Errorf("%s: model checksum is %s, not the name's", key, got)
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
// when it fails, since a put prints several lines of banner. The command runs in its own
// process group, and when ctx ends (Ctrl-C) the whole group is stopped: wrangler is node
// starting more node processes, and killing only the first would leave the rest running.
func runWrangler(ctx context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: stopped: %w", strings.Join(argv[:min(len(argv), 5)], " "), context.Cause(ctx))
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv[:min(len(argv), 5)], " "), err, tail(out.Bytes(), 2000))
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
