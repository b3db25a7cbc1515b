package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/toonid/toonid/serve"
)

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var cfg serveConfig
	fl.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fl.StringVar(&cfg.store, "store", "build/store", "store directory (models/, packs/) served under /v1/")
	fl.StringVar(&cfg.site, "site", "build/site", "static site directory served at / (skipped if missing)")
	origins := fl.String("origins", "", "comma-separated extra CORS origins, e.g. chrome-extension://<id> (the server's own origin is always allowed)")
	if err := fl.Parse(args); err != nil {
		return cfg, err
	}
	if fl.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if _, port, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, fmt.Errorf("-addr %q: %w", clipArg(cfg.addr), err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		if _, lerr := net.LookupPort("tcp", port); lerr != nil {
			return cfg, fmt.Errorf("-addr %q: port %q: want 0..65535 or a service name", clipArg(cfg.addr), clipArg(port))
		}
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.origins = append(cfg.origins, o)
		}
	}
	return cfg, nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveMain(ctx, cfg, stdout, stderr)
}

type serveConfig struct {
	addr, store, site string
	origins           []string
}

// Server timeouts: a client gets 10 s to send its headers and 2 minutes to take a
// response (the largest file, a wasm of ~5 MB, takes ~25 s at a slow-4G 1.6 Mbit/s), so a
// client that stops reading holds a connection for a bounded time; an idle keep-alive
// connection is closed after a minute.
const (
	serveReadHeaderTimeout = 10 * time.Second
	serveReadTimeout       = 30 * time.Second
	serveWriteTimeout      = 2 * time.Minute
	serveIdleTimeout       = time.Minute
)

// serverTimeouts are the four http.Server timeouts; tests run the server with short ones.
type serverTimeouts struct{ readHeader, read, write, idle time.Duration }

var serveTimeouts = serverTimeouts{serveReadHeaderTimeout, serveReadTimeout, serveWriteTimeout, serveIdleTimeout}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return newServerTimeouts(h, logger, serveTimeouts)
}

func newServerTimeouts(h http.Handler, logger *slog.Logger, t serverTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveMain listens, prints the URL and serves until ctx ends.
func serveMain(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	store, err := serve.Dir(cfg.store)
	if err != nil {
		return fmt.Errorf("%w (build it with: make default-pack)", err)
	}
	defer store.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	origins := append([]string{url}, cfg.origins...)
	if host, port, err := net.SplitHostPort(ln.Addr().String()); err == nil && host == "127.0.0.1" {
		origins = append(origins, "http://localhost:"+port)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	api := serve.New(store, serve.Options{AllowedOrigins: origins, Log: logger})

	var h http.Handler = api
	// serve.OpenRoot, not os.OpenRoot: a site folder rebuilt from scratch while served is
	// served from the new folder.
	if root, err := serve.OpenRoot(cfg.site); err == nil {
		defer root.Close()
		h = serve.WithSite(api, serve.Site(root.FS(), serve.SiteOptions{Log: logger}))
	} else {
		fmt.Fprintf(stderr, "toonid serve: no site at %s (%v); serving only /v1/\n", cfg.site, err)
	}
	srv := newServer(h, logger)
	fmt.Fprintf(stdout, "toonid serve: %s/ (store %s)\n", url, cfg.store)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
