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
// returned in skipped.
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
