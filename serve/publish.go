package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Upload is one object to put into a remote store (R2) when publishing.
type Upload struct {
	Key          string // store key, e.g. "packs/default/manifest.json"
	ContentType  string
	CacheControl string
	Size         int64
	Data         []byte // generated content (the pack index); nil: copy the file at Key
}

// PublishPlan lists what to upload from a store laid out as serve serves it, in an order
// that never exposes a dangling reference: models and shards first, then each pack's
// manifest, then packs/index.json (generated from the packs found). Every
// content-addressed file is hashed and must match its name, so a corrupt store is
// refused before anything is sent. Files the handler would never serve are skipped and
// returned in skipped, and so are the precompressed copies beside content-addressed files
// (EncodedCopy): the Worker sends every body as stored (Options.Identity) and Cloudflare
// compresses at its edge, so in R2 they would only be bytes no client is ever sent.
//
// check verifies one content-addressed file against the sha256 in its name; nil means
// CheckSHA256 (the whole file hashes to the name), which is right for pack shards. The
// CLI passes a check that also accepts a model named by its own embedded checksum.
func PublishPlan(fsys fs.FS, check func(fsys fs.FS, key, sum string) error) (plan []Upload, skipped []string, err error) {
	if check == nil {
		check = CheckSHA256
	}
	var blobs, manifests []Upload
	var packs []string
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("serve: publish: %w", err)
		}
		if d.IsDir() || p == indexKey {
			return nil
		}
		if EncodedCopy(p) {
			skipped = append(skipped, p)
			return nil
		}
		rt, rerr := parseRoute("/v1/" + p)
		if rerr != nil || rt.key != p || !d.Type().IsRegular() {
			skipped = append(skipped, p)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("serve: publish: %s: %w", p, err)
		}
		u := Upload{Key: p, ContentType: rt.ctype, CacheControl: cacheRevalidate, Size: info.Size()}
		if rt.addressed {
			if err := check(fsys, p, rt.sha256); err != nil {
				return fmt.Errorf("serve: publish: %w", err)
			}
			u.CacheControl = cacheImmutable
			blobs = append(blobs, u)
			return nil
		}
		if path.Base(p) == "manifest.json" {
			packs = append(packs, path.Base(path.Dir(p)))
			manifests = append(manifests, u)
			return nil
		}
		// Mutable pack files other than the manifest (thumbnails) go before it too.
		blobs = append(blobs, u)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(blobs)+len(manifests) == 0 {
		return nil, skipped, errors.New("serve: publish: the store holds no models or packs")
	}
	sort.Strings(packs)
	if packs == nil {
		packs = []string{}
	}
	idx, err := json.Marshal(Index{Packs: packs})
	if err != nil {
		return nil, nil, fmt.Errorf("serve: publish: index: %w", err)
	}
	idx = append(idx, '\n')
	plan = append(append(blobs, manifests...), Upload{Key: indexKey, ContentType: "application/json",
		CacheControl: cacheRevalidate, Size: int64(len(idx)), Data: idx})
	return plan, skipped, nil
}

// EncodedCopy reports whether key is a precompressed copy of a content-addressed store file
// (models/<sum>.tmdl.br beside models/<sum>.tmdl), which the local handler sends for an
// Accept-Encoding it names and PublishPlan leaves out.
func EncodedCopy(key string) bool {
	for _, enc := range storeEncodings {
		if base, ok := strings.CutSuffix(key, enc.ext); ok {
			rt, err := parseRoute("/v1/" + base)
			return err == nil && rt.addressed && rt.key == base
		}
	}
	return false
}

// CheckSHA256 reports an error unless the file at key hashes to want (hex sha256).
func CheckSHA256(fsys fs.FS, key, want string) error {
	f, err := fsys.Open(key)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: content sha256 is %s, not the name's", key, got)
	}
	return nil
}
