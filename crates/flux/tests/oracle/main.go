// Digest oracle for crates/flux: computes, with Flux's and Helm's own Go code, the digests
// helm-controller records, for the cases in ../digest_cases.json. Optional: CI never runs it;
// its output is checked in as ../digest_goldens.json and compared by tests/digests.rs.
//
// Regenerate (needs Go and the Go module proxy):
//
//	cd crates/flux/tests/oracle && GOFLAGS=-mod=mod go run . < ../digest_cases.json > ../digest_goldens.json
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/chartutil"
	"github.com/opencontainers/go-digest"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// observation has the fields, order and JSON tags of helm-controller's
// internal/release.Observation (an internal package, so it cannot be imported).
type observation struct {
	Name          string                 `json:"name"`
	Version       int                    `json:"version"`
	Info          release.Info           `json:"info"`
	ChartMetadata chart.Metadata         `json:"chartMetadata"`
	Config        map[string]interface{} `json:"config"`
	Manifest      string                 `json:"manifest"`
	Hooks         []release.Hook         `json:"hooks"`
	Namespace     string                 `json:"namespace"`
	OCIDigest     string                 `json:"ociDigest,omitempty"`
}

type releaseCase struct {
	Release   json.RawMessage `json:"release"`
	OCIDigest string          `json:"ociDigest"`
}

type cases struct {
	Values   []map[string]interface{} `json:"values"`
	Releases []releaseCase            `json:"releases"`
	// Raw JSON documents hashed as helm-controller hashes spec.postRenderers and
	// spec.commonMetadata: json.NewEncoder(sha256).Encode(v) of the decoded Go value.
	PostRenderers  []json.RawMessage `json:"postRenderers"`
	CommonMetadata []json.RawMessage `json:"commonMetadata"`
}

type goldens struct {
	Values         []string `json:"values"`
	Releases       []string `json:"releases"`
	PostRenderers  []string `json:"postRenderers"`
	CommonMetadata []string `json:"commonMetadata"`
}

func observe(rel *release.Release, oci string) observation {
	o := observation{Name: rel.Name, Version: rel.Version, Manifest: rel.Manifest, Namespace: rel.Namespace, OCIDigest: oci}
	if rel.Info != nil {
		o.Info = *rel.Info
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		o.ChartMetadata = *rel.Chart.Metadata
	}
	if len(rel.Config) > 0 {
		o.Config = rel.Config
	}
	if len(rel.Hooks) > 0 {
		var hooks []release.Hook
		for _, h := range rel.Hooks {
			test := false
			for _, e := range h.Events {
				if e == release.HookTest {
					test = true
				}
			}
			if !test {
				hooks = append(hooks, *h)
			}
		}
		o.Hooks = hooks
	}
	return o
}

func encoded(v interface{}) string {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(v); err != nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

func main() {
	var in cases
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var out goldens
	for _, v := range in.Values {
		out.Values = append(out.Values, chartutil.DigestValues(digest.Canonical, v).String())
	}
	for _, c := range in.Releases {
		var rel release.Release
		if err := json.Unmarshal(c.Release, &rel); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.Releases = append(out.Releases, encoded(observe(&rel, c.OCIDigest)))
	}
	for _, raw := range in.PostRenderers {
		var v []postRenderer
		if err := json.Unmarshal(raw, &v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.PostRenderers = append(out.PostRenderers, encoded(v))
	}
	for _, raw := range in.CommonMetadata {
		var v commonMetadata
		if err := json.Unmarshal(raw, &v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.CommonMetadata = append(out.CommonMetadata, encoded(&v))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
