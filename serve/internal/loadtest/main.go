// Command loadtest is a bounded load test of the serve handler on loopback: the local Go
// server (serve.New over a directory store, as toonid serve runs it) and, with -worker,
// the Worker under wrangler dev with a local R2 bucket. It writes its own fixture store,
// checks every response (status, length, sha256 of full bodies) and prints latency
// percentiles and requests/s. Run through make bench-serve; it is not a test.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/toonid/toonid/internal/teststore"
	"github.com/toonid/toonid/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type file struct {
	key string
	b   []byte
	sum string
}

// request is one planned request and what a correct answer looks like.
type request struct {
	method string // "" means GET
	path   string
	hdr    map[string]string
	status int
	length int
	sum    string // sha256 of the full body, when checked
}

func run() error {
	n := flag.Int("n", 5000, "requests against the local Go server")
	c := flag.Int("c", 32, "concurrency against the local Go server")
	wn := flag.Int("worker-n", 500, "requests against wrangler dev")
	wc := flag.Int("worker-c", 8, "concurrency against wrangler dev")
	worker := flag.Bool("worker", false, "also load wrangler dev (needs -toonid, -wrangler, -worker-dir)")
	toonid := flag.String("toonid", "", "toonid binary (for publish -local)")
	wrangler := flag.String("wrangler", "node_modules/.bin/wrangler", "wrangler binary")
	workerDir := flag.String("worker-dir", "worker", "directory holding wrangler.toml and build/")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "toonid-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files, err := writeFixture(filepath.Join(tmp, "store"))
	if err != nil {
		return err
	}
	plan := makePlan(files)
	fmt.Printf("machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s; %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), cpuModel(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("fixture: %d files, %d request kinds (full GETs checked by sha256, ranges, 304s, HEAD)\n\n", len(files), len(plan))
	fmt.Println("| target | requests | concurrency | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")

	store, err := serve.Dir(filepath.Join(tmp, "store"))
	if err != nil {
		return err
	}
	defer store.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: serve.New(store, serve.Options{})}
	go srv.Serve(ln)
	defer srv.Close()
	errs := 0
	errs += load("toonid serve (Go, loopback)", "http://"+ln.Addr().String(), plan, *n, *c)

	if *worker {
		base, stop, err := startWorker(tmp, *toonid, *wrangler, *workerDir)
		if err != nil {
			return err
		}
		// Warm up: the first requests compile the Worker's wasm.
		for i := 0; i < 5; i++ {
			http.Get(base + "/v1/packs/index.json")
		}
		errs += load("Worker (wrangler dev, local R2)", base, plan, *wn, *wc)
		stop()
	}
	if errs > 0 {
		return fmt.Errorf("%d failed requests", errs)
	}
	return nil
}

func writeFixture(dir string) ([]file, error) {
	var files []file
	add := func(key string, b []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		s := sha256.Sum256(b)
		files = append(files, file{key, b, hex.EncodeToString(s[:])})
		return os.WriteFile(p, b, 0o644)
	}
	rnd := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	name := func(b []byte, ext string) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) + "." + ext }
	// Sizes like the real thing: a ~300 KB int8 model, pack shards of a few KB to ~100 KB.
	model := rnd(300_000)
	if err := add("models/"+name(model, "tmdl"), model); err != nil {
		return nil, err
	}
	for _, sz := range []int{100_000, 20_000, 4_000} {
		s := rnd(sz)
		if err := add("packs/load/"+name(s, "tps"), s); err != nil {
			return nil, err
		}
	}
	// A real pack and its model beside the random files: toonid publish opens every pack as a
	// reader would before uploading. The pack's manifest and shards join the plan; its model,
	// named by its embedded checksum rather than its bytes' sha256, is only published.
	if _, err := teststore.Write(dir, "load"); err != nil {
		return nil, err
	}
	keys, err := fs.Glob(os.DirFS(dir), "packs/load/*")
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil {
			return nil, err
		}
		s := sha256.Sum256(b)
		if !slices.ContainsFunc(files, func(f file) bool { return f.key == key }) {
			files = append(files, file{key, b, hex.EncodeToString(s[:])})
		}
	}
	return files, nil
}

func makePlan(files []file) []request {
	var plan []request
	for _, f := range files {
		etag := `"` + f.sum + `"`
		plan = append(plan,
			request{path: "/v1/" + f.key, status: 200, length: len(f.b), sum: f.sum},
			request{path: "/v1/" + f.key, hdr: map[string]string{"If-None-Match": etag}, status: 304},
			request{path: "/v1/" + f.key, hdr: map[string]string{"Range": "bytes=0-1023"}, status: 206, length: min(1024, len(f.b))},
			request{method: "HEAD", path: "/v1/" + f.key, status: 200},
		)
	}
	plan = append(plan, request{path: "/v1/packs/index.json", status: 200, length: len(`{"packs":["load"]}` + "\n")})
	return plan
}

// load sends n requests from c workers cycling through plan and prints one table row.
func load(name, base string, plan []request, n, c int) int {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c},
		Timeout: 30 * time.Second}
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rq := plan[i%len(plan)]
				t0 := time.Now()
				err := one(client, base, rq)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintf(os.Stderr, "%s: first error: %v\n", name, err) })
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) string {
		return fmt.Sprintf("%.2f", float64(lat[min(n-1, int(p*float64(n)))].Microseconds())/1000)
	}
	fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s |\n", name, n, c, failed.Load(),
		float64(n)/el.Seconds(), pct(0.50), pct(0.90), pct(0.99), pct(1))
	return int(failed.Load())
}

func one(client *http.Client, base string, rq request) error {
	method := rq.method
	if method == "" {
		method = "GET"
	}
	req, err := http.NewRequest(method, base+rq.path, nil)
	if err != nil {
		return err
	}
	for k, v := range rq.hdr {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	h := sha256.New()
	got, err := io.Copy(h, res.Body)
	if err != nil {
		return fmt.Errorf("%s: body: %w", rq.path, err)
	}
	if res.StatusCode != rq.status {
		return fmt.Errorf("%s %v: status %d, want %d", rq.path, rq.hdr, res.StatusCode, rq.status)
	}
	if rq.method == "HEAD" {
		if got != 0 || res.ContentLength <= 0 {
			return fmt.Errorf("HEAD %s: %d body bytes, Content-Length %d", rq.path, got, res.ContentLength)
		}
		return nil
	}
	if rq.status != 304 && got != int64(rq.length) {
		return fmt.Errorf("%s %v: %d bytes, want %d", rq.path, rq.hdr, got, rq.length)
	}
	if rq.sum != "" && hex.EncodeToString(h.Sum(nil)) != rq.sum {
		return fmt.Errorf("%s: sha256 mismatch", rq.path)
	}
	return nil
}

// startWorker publishes the fixture into a fresh local R2 state and starts wrangler dev.
func startWorker(tmp, toonid, wrangler, workerDir string) (base string, stop func(), err error) {
	if toonid == "" {
		return "", nil, errors.New("-worker needs -toonid")
	}
	wranglerAbs, err := filepath.Abs(wrangler)
	if err != nil {
		return "", nil, err
	}
	state := filepath.Join(tmp, "state")
	env := append(os.Environ(), "WRANGLER_SEND_METRICS=false", "CLOUDFLARE_CF_FETCH_ENABLED=false")
	pub := exec.Command(toonid, "publish", "-store", filepath.Join(tmp, "store"), "-local", "-persist-to", state,
		"-bucket", "toonid-store", "-wrangler", wranglerAbs)
	pub.Env = env
	if out, err := pub.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("publish: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(wranglerAbs, "dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--persist-to", state,
		"--show-interactive-dev-session=false", "--log-level", "warn")
	cmd.Dir = workerDir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logb strings.Builder
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logb.WriteString(sc.Text() + "\n")
		}
	}()
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		pw.Close()
	}
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if res, err := http.Get(base + "/v1/packs/index.json"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base, stop, nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("wrangler dev not ready after 60 s:\n%s", logb.String())
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
