package ociregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"
)

// The media types of an image as docker push uploads it (Docker image manifest V2,
// schema 2), which the registry serves whatever the client's Accept header; an OCI
// manifest would be 404 to a client that does not accept OCI.
const (
	manifestType = "application/vnd.docker.distribution.manifest.v2+json"
	configType   = "application/vnd.docker.container.image.v1+json"
	layerType    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// PushImage uploads a small image with one random layer as repo:tag and returns its
// manifest digest. It talks to the registry in process with a push token it signs
// itself, so it needs no configured user and leaves nothing in Requests or Writes;
// the registry checks that token and stores the image as for any client.
func (r *Registry) PushImage(repo, tag string) (string, error) {
	now := time.Now()
	token, err := r.sign(claims{
		Issuer:    issuer,
		Subject:   "ociregistry-setup",
		Audience:  r.Service,
		Expires:   now.Add(tokenLifetime).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		Access:    []access{{Type: "repository", Name: repo, Actions: []string{"pull", "push"}}},
	})
	if err != nil {
		return "", err
	}
	layer, diffID, err := randomLayer()
	if err != nil {
		return "", err
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return "", err
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	manifest, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{
		SchemaVersion: 2,
		MediaType:     manifestType,
		Config:        descriptor{configType, len(config), digestOf(config)},
		Layers:        []descriptor{{layerType, len(layer), digestOf(layer)}},
	})
	if err != nil {
		return "", err
	}
	for _, blob := range [][]byte{config, layer} {
		if err := r.pushBlob(repo, token, blob); err != nil {
			return "", err
		}
	}
	res := r.inProcess(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, token, manifestType, manifest)
	if res.Code != http.StatusCreated {
		return "", errStatus("PUT manifest "+repo+":"+tag, res.Code, res.Body.Bytes())
	}
	return res.Header().Get("Docker-Content-Digest"), nil
}

// pushBlob uploads blob as docker push does: POST opens an upload, PUT to its
// Location with the digest closes it with the whole content.
func (r *Registry) pushBlob(repo, token string, blob []byte) error {
	res := r.inProcess(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", token, "", nil)
	if res.Code != http.StatusAccepted {
		return errStatus("POST blob upload to "+repo, res.Code, res.Body.Bytes())
	}
	loc, err := url.Parse(res.Header().Get("Location"))
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", digestOf(blob))
	loc.RawQuery = q.Encode()
	res = r.inProcess(http.MethodPut, loc.RequestURI(), token, "application/octet-stream", blob)
	if res.Code != http.StatusCreated {
		return errStatus("PUT blob to "+repo, res.Code, res.Body.Bytes())
	}
	return nil
}

// inProcess serves one request by the registry application directly, past the
// listener and the request log.
func (r *Registry) inProcess(method, target, token, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res := httptest.NewRecorder()
	r.app.ServeHTTP(res, req)
	return res
}

// randomLayer is a gzipped tar holding one file of random bytes, and its diff ID
// (the digest of the tar before compression).
func randomLayer() ([]byte, string, error) {
	content := make([]byte, 256)
	if _, err := rand.Read(content); err != nil {
		return nil, "", err
	}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	if err := tw.WriteHeader(&tar.Header{Name: "random", Mode: 0o644, Size: int64(len(content))}); err != nil {
		return nil, "", err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarball.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), digestOf(tarball.Bytes()), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// errStatus is an answer PushImage did not expect.
func errStatus(what string, status int, body []byte) error {
	return fmt.Errorf("%s: %d %s", what, status, bytes.TrimSpace(body))
}
