package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeTimeouts: toonid serve's server has every timeout set (a server without Write and
// Idle timeouts let a client that stops reading, or an idle keep-alive, hold a connection
// forever), and each one cuts the client it is for. The behaviour is checked with the same
// construction (newServerTimeouts) and short timeouts; the deadlines are far from the checks'
// bounds, so a loaded machine does not make it flaky.
func TestServeTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if got <= 0 {
			t.Errorf("toonid serve: %s not set", name)
		}
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout || srv.WriteTimeout < 30*time.Second || srv.MaxHeaderBytes <= 0 {
		t.Errorf("toonid serve: timeouts %v/%v/%v, MaxHeaderBytes %d", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.MaxHeaderBytes)
	}

	const short = 300 * time.Millisecond
	const bound = 10 * time.Second // each cut must come well before this
	bodyErr := make(chan error, 1)
	writeErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<20)
		for start := time.Now(); time.Since(start) < bound; {
			if _, err := w.Write(buf); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServerTimeouts(mux, slog.New(slog.DiscardHandler), serverTimeouts{readHeader: short, read: short, write: short, idle: short})
	go s.Serve(ln)
	defer s.Close()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(2 * bound)) // the test never hangs
		return c
	}
	// closed waits for the server to close c, and says how long that took.
	closed := func(c net.Conn, r io.Reader) time.Duration {
		start := time.Now()
		_, err := io.Copy(io.Discard, r)
		if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server did not close the connection within %v", 2*bound)
		}
		return time.Since(start)
	}

	t.Run("header", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n") // headers never finished
		if d := closed(c, c); d > bound {
			t.Errorf("half-sent headers held the connection %v", d)
		}
	})
	t.Run("read", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc") // body never finished
		select {
		case err := <-bodyErr:
			if err == nil {
				t.Error("a body that never finished was read without error")
			}
		case <-time.After(bound):
			t.Error("a body that never finished held the handler")
		}
	})
	t.Run("write", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
		select {
		case err := <-writeErr:
			if err == nil {
				t.Error("a client that does not read took responses for the whole bound")
			}
		case <-time.After(2 * bound):
			t.Error("a client that does not read held the handler")
		}
	})
	t.Run("idle", func(t *testing.T) {
		c := dial()
		r := bufio.NewReader(c)
		io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "ok" || res.Close || strings.EqualFold(res.Header.Get("Connection"), "close") {
			t.Fatalf("keep-alive response %q close=%v", b, res.Close)
		}
		if d := closed(c, r); d > bound { // an idle keep-alive connection is closed
			t.Errorf("idle keep-alive connection held %v", d)
		}
	})
}
