//go:build js && wasm

// Command wasm is toonid's browser module. It runs inside site/worker.js and registers
// globalThis.toonidBridge; every method only copies bytes between JavaScript and package
// bridge, where all logic lives (and is tested natively). Replies are JSON strings.
package main

import (
	"errors"
	"fmt"

	"syscall/js"

	"github.com/toonid/toonid/wasm/bridge"
)

func main() {
	var s *bridge.Session
	api := map[string]any{
		"version": bridge.Version,
		"build":   buildName,
		// init(model Uint8Array, manifest string, files {name: Uint8Array}) -> SessionInfo
		"init": fn(func(a []js.Value) []byte {
			if len(a) != 3 {
				return errJSON(errors.New("init: want model, manifest, files"))
			}
			files := map[string][]byte{}
			keys := js.Global().Get("Object").Call("keys", a[2])
			for i := 0; i < keys.Length(); i++ {
				k := keys.Index(i).String()
				files[k] = bytesOf(a[2].Get(k))
			}
			var err error
			s, err = bridge.Load(bytesOf(a[0]), []byte(a[1].String()), files, buildName)
			if err != nil {
				return errJSON(err)
			}
			return s.Info()
		}),
		// identify(pix Uint8Array, w, h, request string) -> Reply
		"identify": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("identify: not loaded, or want pix, w, h, request"))
			}
			return s.Identify(bytesOf(a[0]), a[1].Int(), a[2].Int(), []byte(a[3].String()))
		}),
		// embed(pix Uint8Array, w, h) -> {embedding}
		"embed": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 3 {
				return errJSON(errors.New("embed: not loaded, or want pix, w, h"))
			}
			return s.Embed(bytesOf(a[0]), a[1].Int(), a[2].Int())
		}),
		// setUser(chars string) -> {user}
		"setUser": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("setUser: not loaded, or want one JSON list"))
			}
			return s.SetUser([]byte(a[0].String()))
		}),
		// checkName(name string) -> {name}: the name as stored, or the bridge's refusal
		"checkName": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("checkName: not loaded, or want one name"))
			}
			return s.CheckName(a[0].String())
		}),
		// checkUser(chars string) -> {user}: setUser's dry run, the matcher untouched
		"checkUser": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("checkUser: not loaded, or want one JSON list"))
			}
			return s.CheckUser([]byte(a[0].String()))
		}),
		// views(request string) -> {views}: the crops teaching stores for an answer's box
		"views": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("views: not loaded, or want one JSON request"))
			}
			return s.Views([]byte(a[0].String()))
		}),
		// setDetector(model Uint8Array) -> {detector}: the face detector, downloaded after init
		"setDetector": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("setDetector: not loaded, or want one model file"))
			}
			return s.SetDetector(bytesOf(a[0]))
		}),
		// detect(pix Uint8Array, w, h) -> {faces: [{box, score}]}
		"detect": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 3 {
				return errJSON(errors.New("detect: not loaded, or want pix, w, h"))
			}
			return s.Detect(bytesOf(a[0]), a[1].Int(), a[2].Int())
		}),
		// identifyAll(pix Uint8Array, w, h, request string) -> {faces: [{box, score, crop, answers, unknown, best, threshold}]}
		"identifyAll": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("identifyAll: not loaded, or want pix, w, h, request"))
			}
			return s.IdentifyAll(bytesOf(a[0]), a[1].Int(), a[2].Int(), []byte(a[3].String()))
		}),
		// identifyFaces(pix Uint8Array, w, h, request string {faces: [{box, score}], k}) -> {faces, ms}: detected faces named
		"identifyFaces": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("identifyFaces: not loaded, or want pix, w, h, request"))
			}
			return s.IdentifyFaces(bytesOf(a[0]), a[1].Int(), a[2].Int(), []byte(a[3].String()))
		}),
		// liveStart(request string) -> {every, k, maxFaces}; liveFrame(pix, w, h, tMS) -> {faces: [{id, box, label, ...}], ...}; liveStop()
		"liveStart": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("liveStart: not loaded, or want one JSON request"))
			}
			return s.LiveStart([]byte(a[0].String()))
		}),
		"liveFrame": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("liveFrame: not loaded, or want pix, w, h, tMS"))
			}
			return s.LiveFrame(bytesOf(a[0]), a[1].Int(), a[2].Int(), a[3].Float())
		}),
		// liveWants(tMS) -> {pixels}: whether liveFrame at tMS needs the frame's pixels
		"liveWants": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("liveWants: not loaded, or want tMS"))
			}
			return s.LiveWants(a[0].Float())
		}),
		"liveStop": fn(func(a []js.Value) []byte {
			if s == nil {
				return errJSON(errors.New("liveStop: not loaded"))
			}
			return s.LiveStop()
		}),
		// gatherStart(pix, w, h, request string {t, box}) -> Gathered; gatherFrame(pix, w, h, tMS) -> Gathered; gatherDone() -> {kept, picked, seconds, from, to}
		"gatherStart": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("gatherStart: not loaded, or want pix, w, h, request"))
			}
			return s.GatherStart(bytesOf(a[0]), a[1].Int(), a[2].Int(), []byte(a[3].String()))
		}),
		"gatherFrame": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 4 {
				return errJSON(errors.New("gatherFrame: not loaded, or want pix, w, h, tMS"))
			}
			return s.GatherFrame(bytesOf(a[0]), a[1].Int(), a[2].Int(), a[3].Float())
		}),
		"gatherDone": fn(func(a []js.Value) []byte {
			if s == nil {
				return errJSON(errors.New("gatherDone: not loaded"))
			}
			return s.GatherDone()
		}),
		// exportPack(chars string) -> Uint8Array (a pack archive) or an error reply (string)
		"exportPack": js.FuncOf(func(this js.Value, a []js.Value) (out any) {
			defer func() {
				if r := recover(); r != nil {
					out = string(errJSON(fmt.Errorf("bridge: internal error: %v", r)))
				}
			}()
			if s == nil || len(a) != 1 {
				return string(errJSON(errors.New("exportPack: not loaded, or want one JSON list")))
			}
			b, err := s.ExportPack([]byte(a[0].String()))
			if err != nil {
				return string(errJSON(err))
			}
			u := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(u, b)
			return u
		}),
		// importPack(archive Uint8Array) -> {name, characters: [{id, name, series, embeddings}]}
		"importPack": fn(func(a []js.Value) []byte {
			if s == nil || len(a) != 1 {
				return errJSON(errors.New("importPack: not loaded, or want one archive"))
			}
			return s.ImportPack(bytesOf(a[0]))
		}),
		"packs": fn(func(a []js.Value) []byte {
			if s == nil {
				return errJSON(errors.New("packs: not loaded"))
			}
			return s.Info()
		}),
	}
	js.Global().Set("toonidBridge", js.ValueOf(api))
	select {}
}

// fn wraps a handler so a Go panic becomes an error reply instead of killing the module.
func fn(f func([]js.Value) []byte) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = string(errJSON(fmt.Errorf("bridge: internal error: %v", r)))
			}
		}()
		return string(f(args))
	})
}

func bytesOf(v js.Value) []byte {
	if v.Type() != js.TypeObject || v.Get("byteLength").Type() != js.TypeNumber {
		return nil
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func errJSON(err error) []byte { return bridge.ErrorJSON(err) }
