package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/breachline/breachline/pkg/apperr"
)

// Algorithms are the JWS algorithms OIDC accepts; everything else ("none",
// HMAC, RSA-PSS, ...) is refused before any key is looked at.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// OIDCConfig configures the verification of people's OIDC bearer tokens.
type OIDCConfig struct {
	// Issuer must equal the token's "iss".
	Issuer string
	// Audience must be among the token's "aud".
	Audience string
	// JWKSURL is where the issuer publishes its signing keys; empty means
	// the jwks_uri of Issuer's discovery document, or Issuer +
	// "/.well-known/jwks.json" when there is none.
	JWKSURL string
	// SubjectClaim names the claim that becomes Identity.Subject; empty
	// means "sub".
	SubjectClaim string
	// RolesClaim and CustomersClaim name the claims (dotted paths such as
	// "realm_access.roles" reach into objects) holding the subject's roles
	// and assigned customer ids: arrays of strings, or one string separated
	// by spaces or commas. Empty means "roles" and "breachline_customers".
	RolesClaim, CustomersClaim string
	// Leeway tolerates clock skew on exp, nbf and iat; 0 means 30s.
	Leeway time.Duration
	// HTTPClient fetches discovery and keys; nil means one with a 10s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OIDC verifies OIDC JWT bearer tokens (github.com/go-jose/go-jose/v4 does
// the JOSE work). Keys are fetched from the JWKS on first use and cached; a
// token signed with a key id the cache does not know triggers a refetch (the
// issuer rotated its keys), at most once per refetchEvery so that forged
// key ids cannot turn callers into a flood on the issuer. Cached keys are
// also refreshed after maxKeyAge, so a key the issuer withdrew stops being
// accepted.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	jwksURL     string
	keys        []jose.JSONWebKey
	fetchedAt   time.Time // last successful fetch
	attemptedAt time.Time // last attempt
}

const (
	refetchEvery = 10 * time.Second
	maxKeyAge    = time.Hour
	maxJWKSBytes = 1 << 20
)

// NewOIDC returns a verifier. It does not contact the issuer: keys are
// fetched on the first token, so a service starts while its issuer is down.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("oidc: issuer and audience are required")
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.CustomersClaim == "" {
		cfg.CustomersClaim = "breachline_customers"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	o := &OIDC{cfg: cfg, client: cfg.HTTPClient, now: cfg.Now, jwksURL: cfg.JWKSURL}
	if o.client == nil {
		o.client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// errToken is the client-facing reason a token is refused; detail stays
// out of the answer.
func errToken(reason string) error {
	return fmt.Errorf("bearer token rejected (%s): %w", reason, apperr.ErrUnauthenticated)
}

// Verify checks raw's signature, algorithm, issuer, audience and validity
// period, and returns the identity its claims describe.
func (o *OIDC) Verify(ctx context.Context, raw string) (Identity, error) {
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return Identity{}, errToken("malformed or disallowed algorithm")
	}
	if len(tok.Headers) != 1 {
		return Identity{}, errToken("malformed")
	}
	h := tok.Headers[0]
	key, err := o.key(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		return Identity{}, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return Identity{}, errToken("bad signature")
	}
	if std.Expiry == nil {
		return Identity{}, errToken("no expiry")
	}
	err = std.ValidateWithLeeway(jwt.Expected{
		Issuer: o.cfg.Issuer, AnyAudience: jwt.Audience{o.cfg.Audience}, Time: o.now(),
	}, o.cfg.Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return Identity{}, errToken("expired")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return Identity{}, errToken("not valid yet")
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return Identity{}, errToken("wrong issuer")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return Identity{}, errToken("wrong audience")
	case err != nil:
		return Identity{}, errToken("invalid claims")
	}
	subject, _ := claim(all, o.cfg.SubjectClaim).(string)
	if !validSubject(subject) {
		return Identity{}, errToken("no usable subject")
	}
	return Identity{
		Subject:   subject,
		Roles:     stringList(claim(all, o.cfg.RolesClaim)),
		Customers: stringList(claim(all, o.cfg.CustomersClaim)),
	}, nil
}

// validSubject accepts what issuers use as subjects (UUIDs, e-mail
// addresses, "auth0|123") but nothing that could forge log or timeline
// structure.
func validSubject(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// claim looks a dotted path up in the claims.
func claim(all map[string]any, path string) any {
	var cur any = all
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// stringList reads an array of strings, or one string of space- or
// comma-separated values; anything else is no values.
func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	case string:
		out = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return out
}

// key returns the signing key for kid and alg, fetching the key set when it
// is missing or stale.
func (o *OIDC) key(ctx context.Context, kid, alg string) (jose.JSONWebKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	fresh := !o.fetchedAt.IsZero() && now.Sub(o.fetchedAt) < maxKeyAge
	if k, ok := pick(o.keys, kid, alg); ok && fresh {
		return k, nil
	}
	if !o.attemptedAt.IsZero() && now.Sub(o.attemptedAt) < refetchEvery {
		// Recently fetched: an unknown kid is unknown, not a rotation.
		if k, ok := pick(o.keys, kid, alg); ok {
			return k, nil
		}
		return jose.JSONWebKey{}, errToken("unknown signing key")
	}
	o.attemptedAt = now
	keys, err := o.fetch(ctx)
	if err != nil {
		// The issuer is unreachable: keep using keys we have, and answer
		// UNAVAILABLE (retryable) for a key we cannot check.
		if k, ok := pick(o.keys, kid, alg); ok {
			return k, nil
		}
		return jose.JSONWebKey{}, fmt.Errorf("fetch issuer keys: %w", errors.Join(apperr.ErrUnavailable, err))
	}
	o.keys, o.fetchedAt = keys, now
	if k, ok := pick(o.keys, kid, alg); ok {
		return k, nil
	}
	return jose.JSONWebKey{}, errToken("unknown signing key")
}

// pick finds the signature key for kid (or the only key, for tokens without
// one) that may be used with alg.
func pick(keys []jose.JSONWebKey, kid, alg string) (jose.JSONWebKey, bool) {
	var found []jose.JSONWebKey
	for _, k := range keys {
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		if kid == "" || k.KeyID == kid {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		return jose.JSONWebKey{}, false
	}
	return found[0], true
}

// fetch reads the key set, discovering its URL first when needed.
func (o *OIDC) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	if o.jwksURL == "" {
		u, err := o.discover(ctx)
		if err != nil {
			return nil, err
		}
		o.jwksURL = u
	}
	var set jose.JSONWebKeySet
	if err := o.getJSON(ctx, o.jwksURL, &set); err != nil {
		return nil, err
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		if k.Valid() && k.IsPublic() {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// discover reads jwks_uri from the issuer's OpenID configuration, falling
// back to the conventional location.
func (o *OIDC) discover(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(o.cfg.Issuer, "/")
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	err := o.getJSON(ctx, base+"/.well-known/openid-configuration", &doc)
	if errors.Is(err, errNotFound) {
		return base + "/.well-known/jwks.json", nil
	}
	if err != nil {
		return "", err
	}
	if doc.Issuer != o.cfg.Issuer || doc.JWKSURI == "" {
		return "", errors.New("discovery document names another issuer or no jwks_uri")
	}
	return doc.JWKSURI, nil
}

var errNotFound = errors.New("404 not found")

func (o *OIDC) getJSON(ctx context.Context, url string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errNotFound
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	return nil
}
