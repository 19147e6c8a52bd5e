package channel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Endpoints are per-endpoint webhook signing secrets, read from the YAML
// file WEBHOOK_ENDPOINTS names:
//
//	endpoints:
//	  - url_prefix: https://hooks.acme.example/breach
//	    secrets: [file:/run/secrets/acme-2026, env:ACME_HOOK_SECRET_2025]
//
// The file holds secret references, never secrets: "env:NAME" reads an
// environment variable, "file:/path" a file (a mounted Kubernetes Secret),
// both at every send, so rotating a mounted secret needs no restart. An
// endpoint has one or two active secrets: during a rotation list the new
// one first and the old one second; each signs the body, and the receiver
// accepts either until it drops the old one. Secret values never appear in
// logs, errors or API responses; only the reference names do.
type Endpoints struct {
	list   []endpoint
	lookup func(string) (string, bool)
}

type endpoint struct {
	Prefix  string   `yaml:"url_prefix"`
	Secrets []string `yaml:"secrets"`
}

// MaxActiveSecrets is how many secrets an endpoint may have at once.
const MaxActiveSecrets = 2

// ParseEndpoints reads an endpoints file's content and checks every
// reference resolves now (so a typo fails start-up, not the first send).
// lookup is os.LookupEnv in production.
func ParseEndpoints(b []byte, lookup func(string) (string, bool)) (*Endpoints, error) {
	var f struct {
		Endpoints []endpoint `yaml:"endpoints"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	e := &Endpoints{list: f.Endpoints, lookup: lookup}
	var errs []error
	seen := map[string]bool{}
	for i, ep := range e.list {
		u, err := url.Parse(ep.Prefix)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoints[%d].url_prefix must be an http(s) URL", i))
		}
		if seen[ep.Prefix] {
			errs = append(errs, fmt.Errorf("endpoints[%d].url_prefix is listed twice", i))
		}
		seen[ep.Prefix] = true
		if len(ep.Secrets) == 0 || len(ep.Secrets) > MaxActiveSecrets {
			errs = append(errs, fmt.Errorf("endpoints[%d].secrets must list 1 or %d secret references", i, MaxActiveSecrets))
		}
		for j, ref := range ep.Secrets {
			if _, err := e.resolve(ref); err != nil {
				errs = append(errs, fmt.Errorf("endpoints[%d].secrets[%d]: %w", i, j, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Longest prefix first: the most specific endpoint wins.
	sort.SliceStable(e.list, func(i, j int) bool { return len(e.list[i].Prefix) > len(e.list[j].Prefix) })
	return e, nil
}

// Len is the number of endpoints (0 for nil).
func (e *Endpoints) Len() int {
	if e == nil {
		return 0
	}
	return len(e.list)
}

// For returns the active secrets of the endpoint url belongs to; ok is
// false when no endpoint matches.
func (e *Endpoints) For(rawURL string) (secrets [][]byte, ok bool, err error) {
	if e == nil {
		return nil, false, nil
	}
	for _, ep := range e.list {
		if !strings.HasPrefix(rawURL, ep.Prefix) {
			continue
		}
		for _, ref := range ep.Secrets {
			s, err := e.resolve(ref)
			if err != nil {
				return nil, true, err
			}
			secrets = append(secrets, s)
		}
		return secrets, true, nil
	}
	return nil, false, nil
}

// LogValue implements slog.LogValuer: prefixes and reference names only.
func (e *Endpoints) LogValue() slog.Value {
	if e == nil {
		return slog.IntValue(0)
	}
	attrs := make([]slog.Attr, len(e.list))
	for i, ep := range e.list {
		attrs[i] = slog.String(ep.Prefix, strings.Join(ep.Secrets, ","))
	}
	return slog.GroupValue(attrs...)
}

// resolve reads one reference; its errors name the reference, never the
// value.
func (e *Endpoints) resolve(ref string) ([]byte, error) {
	kind, name, _ := strings.Cut(ref, ":")
	var v string
	switch kind {
	case "env":
		s, ok := e.lookup(name)
		if !ok || s == "" {
			return nil, fmt.Errorf("secret reference %q: environment variable is not set", ref)
		}
		v = s
	case "file":
		b, err := os.ReadFile(name) //nolint:gosec // the operator names the secret file
		if err != nil {
			return nil, fmt.Errorf("secret reference %q: cannot read the file", ref)
		}
		v = strings.TrimRight(string(b), "\r\n")
	default:
		return nil, fmt.Errorf("secret reference %q must be env:NAME or file:PATH", ref)
	}
	if len(v) < 16 {
		return nil, fmt.Errorf("secret reference %q: the secret must be at least 16 bytes", ref)
	}
	return []byte(v), nil
}
