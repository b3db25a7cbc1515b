//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"syscall/js"
	"time"

	"github.com/toonid/toonid/serve"
)

// r2Store is a serve.Store over an R2 bucket binding. It talks to the binding directly
// through syscall/js because the syumai/workers r2 package (v0.32.0) has no ranged get:
// a range here is one R2 get with {range: {offset, length}}, never a whole-object read.
type r2Store struct {
	bucket js.Value
}

var _ serve.Store = r2Store{}

func (s r2Store) Stat(ctx context.Context, key string) (serve.Info, error) {
	if s.bucket.IsUndefined() {
		return serve.Info{}, errors.New("r2: bucket binding " + bindingName + " is not configured")
	}
	v, err := await(func() js.Value { return s.bucket.Call("head", key) })
	if err != nil {
		return serve.Info{}, fmt.Errorf("r2: head %s: %w", key, err)
	}
	if v.IsNull() || v.IsUndefined() {
		return serve.Info{}, fmt.Errorf("r2: head %s: %w", key, fs.ErrNotExist)
	}
	info := serve.Info{Size: int64(v.Get("size").Float()), ETag: v.Get("httpEtag").String()}
	// uploaded (a Date) with the ETag versions the object, so the handler hashes a manifest
	// once per upload rather than once per request.
	if up := v.Get("uploaded"); up.Type() == js.TypeObject {
		info.ModTime = time.UnixMilli(int64(up.Call("getTime").Float()))
	}
	return info, nil
}

func (s r2Store) Read(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if s.bucket.IsUndefined() {
		return nil, errors.New("r2: bucket binding " + bindingName + " is not configured")
	}
	obj := js.Global().Get("Object")
	rng := obj.New()
	rng.Set("offset", float64(off))
	if n >= 0 {
		rng.Set("length", float64(n))
	}
	opts := obj.New()
	opts.Set("range", rng)
	v, err := await(func() js.Value { return s.bucket.Call("get", key, opts) })
	if err != nil {
		return nil, fmt.Errorf("r2: get %s [%d+%d]: %w", key, off, n, err)
	}
	if v.IsNull() || v.IsUndefined() {
		return nil, fmt.Errorf("r2: get %s: %w", key, fs.ErrNotExist)
	}
	body := v.Get("body")
	if body.IsNull() || body.IsUndefined() {
		return nil, fmt.Errorf("r2: get %s: object has no body", key)
	}
	length := n
	if length < 0 {
		length = int64(v.Get("size").Float()) - off
	}
	return &streamReader{stream: body, length: length}, nil
}

// await calls f, which returns a promise, and waits for it. A synchronous JS exception
// from f becomes an error rather than a panic.
func await(f func() js.Value) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("js exception: %v", r)
		}
	}()
	p := f()
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	defer then.Release()
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg0(args))}
		return nil
	})
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

func jsError(v js.Value) error {
	if v.Type() == js.TypeObject && !v.Get("message").IsUndefined() {
		return errors.New(v.Get("message").String())
	}
	return errors.New(v.String())
}

// streamReader reads a JS ReadableStream. When the destination is the Worker's response
// writer, WriteTo hands the stream itself to the response, so R2 bytes never pass
// through Go memory.
type streamReader struct {
	stream js.Value
	length int64    // bytes the ranged get returns
	reader js.Value // set once Read starts
	buf    []byte
	done   bool
	handed bool
}

// rawBodyWriter is implemented by syumai/workers' ResponseWriter.
type rawBodyWriter interface {
	WriteRawJSBody(body js.Value)
}

func (s *streamReader) WriteTo(w io.Writer) (int64, error) {
	if rw, ok := w.(rawBodyWriter); ok && s.reader.IsUndefined() {
		rw.WriteRawJSBody(s.stream)
		s.handed = true
		return s.length, nil
	}
	return io.Copy(w, struct{ io.Reader }{s})
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done {
			return 0, io.EOF
		}
		if s.reader.IsUndefined() {
			s.reader = s.stream.Call("getReader")
		}
		res, err := await(func() js.Value { return s.reader.Call("read") })
		if err != nil {
			return 0, fmt.Errorf("r2: read body: %w", err)
		}
		if res.Get("done").Bool() {
			s.done = true
			continue
		}
		chunk := res.Get("value")
		b := make([]byte, chunk.Get("byteLength").Int())
		js.CopyBytesToGo(b, chunk)
		s.buf = b
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *streamReader) Close() error {
	if s.handed || s.done {
		return nil
	}
	s.done = true
	if s.reader.IsUndefined() {
		_, err := await(func() js.Value { return s.stream.Call("cancel") })
		return err
	}
	_, err := await(func() js.Value { return s.reader.Call("cancel") })
	return err
}

// newLogger logs to the Worker console (wrangler tail / dev output).
func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
