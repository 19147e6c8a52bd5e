package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
)

// issuer is a real OIDC issuer on loopback: discovery document and JWKS
// served over HTTP, keys swappable to simulate rotation.
type issuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches atomic.Int32
}

func newIssuer(t *testing.T, keys ...jose.JSONWebKey) *issuer {
	t.Helper()
	is := &issuer{}
	is.setKeys(keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: is.keys})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) setKeys(keys ...jose.JSONWebKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = nil
	for _, k := range keys {
		is.keys = append(is.keys, k.Public())
	}
}

func signingKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) jose.JSONWebKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}
}

type claims struct {
	jwt.Claims
	Roles     []string `json:"roles,omitempty"`
	Customers []string `json:"breachline_customers,omitempty"`
}

func sign(t *testing.T, k jose.JSONWebKey, c any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func goodClaims(iss string) claims {
	return claims{
		Claims: jwt.Claims{
			Issuer: iss, Subject: "alice@example.org", Audience: jwt.Audience{"breachline"},
			Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		},
		Roles: []string{"legal", "officer"}, Customers: []string{"cus_1"},
	}
}

// clock is a settable time source shared with the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func verifier(t *testing.T, is *issuer, c *clock, jwksURL string) *auth.OIDC {
	t.Helper()
	v, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL, Audience: "breachline", JWKSURL: jwksURL, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOIDCVerify(t *testing.T) {
	t.Parallel()
	rs, es, ed := signingKey(t, "rs", jose.RS256), signingKey(t, "es", jose.ES256), signingKey(t, "ed", jose.EdDSA)
	stranger := signingKey(t, "rs", jose.RS256) // same kid, other key
	is := newIssuer(t, rs, es, ed)
	iss := is.srv.URL
	mod := func(f func(*claims)) claims {
		c := goodClaims(iss)
		f(&c)
		return c
	}
	cases := []struct {
		name   string
		token  string
		reason string // "" = accepted
	}{
		{"rs256", sign(t, rs, goodClaims(iss)), ""},
		{"es256", sign(t, es, goodClaims(iss)), ""},
		{"eddsa", sign(t, ed, goodClaims(iss)), ""},
		{"within-leeway", sign(t, rs, mod(func(c *claims) { c.Expiry = jwt.NewNumericDate(now.Add(-10 * time.Second)) })), ""},
		{"expired", sign(t, rs, mod(func(c *claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) })), "expired"},
		{"no-expiry", sign(t, rs, mod(func(c *claims) { c.Expiry = nil })), "no expiry"},
		{"not-yet-valid", sign(t, rs, mod(func(c *claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })), "not valid yet"},
		{"wrong-audience", sign(t, rs, mod(func(c *claims) { c.Audience = jwt.Audience{"other-api"} })), "wrong audience"},
		{"wrong-issuer", sign(t, rs, mod(func(c *claims) { c.Issuer = "https://evil.example" })), "wrong issuer"},
		{"no-subject", sign(t, rs, mod(func(c *claims) { c.Subject = "" })), "no usable subject"},
		{"other-key-same-kid", sign(t, stranger, goodClaims(iss)), "bad signature"},
		{"unknown-kid", sign(t, signingKey(t, "nope", jose.ES256), goodClaims(iss)), "unknown signing key"},
		{"alg-none", unsigned(t, goodClaims(iss)), "malformed or disallowed algorithm"},
		{"alg-hs256", hmacSigned(t, goodClaims(iss)), "malformed or disallowed algorithm"},
		{"garbage", "a.b.c", "malformed or disallowed algorithm"},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			v := verifier(t, is, &clock{t: now}, "")
			id, err := v.Verify(t.Context(), tc.token)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id.Subject != "alice@example.org" || len(id.Roles) != 2 || id.Roles[0] != "legal" || len(id.Customers) != 1 {
					t.Fatalf("identity = %+v", id)
				}
				return
			}
			if !errors.Is(err, apperr.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify error = %v, want unauthenticated with %q", err, tc.reason)
			}
		})
	}
}

// unsigned builds an "alg": "none" token by hand (go-jose refuses to).
func unsigned(t *testing.T, c claims) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": "rs"})
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// hmacSigned is the classic algorithm-confusion token: HS256 with a shared
// secret an attacker chose.
func hmacSigned(t *testing.T, c claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithHeader("kid", "rs"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	old, next := signingKey(t, "2026-04", jose.RS256), signingKey(t, "2026-05", jose.ES256)
	is := newIssuer(t, old)
	c := &clock{t: now}
	v := verifier(t, is, c, is.srv.URL+"/keys")
	if _, err := v.Verify(t.Context(), sign(t, old, goodClaims(is.srv.URL))); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	is.setKeys(old, next)
	// Within the refetch cooldown an unknown kid is refused without asking
	// the issuer again: forged kids cannot make us hammer it.
	tok := sign(t, next, goodClaims(is.srv.URL))
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("new key accepted inside the refetch cooldown")
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	c.add(11 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refetch for the new kid)", n)
	}
	// The issuer withdraws the old key: once the cache is older than its
	// maximum age, tokens signed with it stop being accepted.
	is.setKeys(next)
	c.add(2 * time.Hour)
	oldTok := sign(t, old, mod(goodClaims(is.srv.URL), c.now()))
	if _, err := v.Verify(t.Context(), oldTok); !errors.Is(err, apperr.ErrUnauthenticated) {
		t.Fatalf("withdrawn key: err = %v, want unauthenticated", err)
	}
}

func mod(c claims, at time.Time) claims {
	c.Expiry = jwt.NewNumericDate(at.Add(5 * time.Minute))
	c.IssuedAt = jwt.NewNumericDate(at)
	return c
}

func TestOIDCIssuerDown(t *testing.T) {
	t.Parallel()
	k := signingKey(t, "k", jose.RS256)
	is := newIssuer(t, k)
	c := &clock{t: now}
	v := verifier(t, is, c, "")
	tok := sign(t, k, goodClaims(is.srv.URL))
	is.srv.Close()
	// Never fetched and the issuer is down: retryable, not "unauthenticated".
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}
