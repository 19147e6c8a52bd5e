package domain

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CertificateAlgorithm is the signature algorithm of deletion certificates.
const CertificateAlgorithm = "Ed25519"

// CertificateSigner signs deletion certificates with one Ed25519 key and
// verifies them with its public half.
type CertificateSigner struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	id   string
}

// NewCertificateSigner returns a signer for the 32-byte Ed25519 seed.
func NewCertificateSigner(seed []byte) (*CertificateSigner, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("deletion signing key: want a %d-byte Ed25519 seed, got %d bytes", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub, _ := priv.Public().(ed25519.PublicKey)
	return &CertificateSigner{priv: priv, pub: pub, id: KeyID(pub)}, nil
}

// WithCertificateSigner makes IssueDeletionCertificate sign with c.
func WithCertificateSigner(c *CertificateSigner) Option {
	return func(s *Service) { s.signer = c }
}

// KeyID names a public key: the first 16 hex characters of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// KeyID returns the id of the signer's public key.
func (c *CertificateSigner) KeyID() string { return c.id }

// PublicKey returns the base64 of the signer's public key.
func (c *CertificateSigner) PublicKey() string { return base64.StdEncoding.EncodeToString(c.pub) }

// Sign returns the base64 signature of doc.
func (c *CertificateSigner) Sign(doc []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(c.priv, doc))
}

// SigningKey is one public key of the certificate key set.
type SigningKey struct {
	KeyID     string
	PublicKey ed25519.PublicKey
	// Current: the key new certificates are signed with; otherwise a
	// retired key that only verifies earlier ones.
	Current bool
}

// Encoded returns the base64 of the public key.
func (k SigningKey) Encoded() string { return base64.StdEncoding.EncodeToString(k.PublicKey) }

// WithRetiredSigningKeys adds the public keys of earlier signing keys
// (DELETION_RETIRED_PUBLIC_KEYS): certificates they signed still verify
// after a rotation, by the key id the certificate names.
func WithRetiredSigningKeys(keys ...ed25519.PublicKey) Option {
	return func(s *Service) { s.retiredKeys = append(s.retiredKeys, keys...) }
}

// SigningKeys returns the key set: the current key first, then the retired
// keys by key id (a retired key equal to the current one is left out).
func (s *Service) SigningKeys() []SigningKey {
	var out []SigningKey
	if s.signer != nil {
		out = append(out, SigningKey{KeyID: s.signer.id, PublicKey: s.signer.pub, Current: true})
	}
	var retired []SigningKey
	for _, pub := range s.retiredKeys {
		k := SigningKey{KeyID: KeyID(pub), PublicKey: pub}
		if !slices.ContainsFunc(out, func(o SigningKey) bool { return o.KeyID == k.KeyID }) &&
			!slices.ContainsFunc(retired, func(o SigningKey) bool { return o.KeyID == k.KeyID }) {
			retired = append(retired, k)
		}
	}
	slices.SortFunc(retired, func(a, b SigningKey) int { return strings.Compare(a.KeyID, b.KeyID) })
	return append(out, retired...)
}

// ParsePublicKeys parses a list of base64 Ed25519 public keys separated by
// commas or white space (DELETION_RETIRED_PUBLIC_KEYS).
func ParsePublicKeys(list string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for i, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		b, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key %d: want base64 of a %d-byte Ed25519 public key", i+1, ed25519.PublicKeySize)
		}
		out = append(out, ed25519.PublicKey(b))
	}
	return out, nil
}

// DocumentKeyID returns the key id a certificate document names ("" when
// it names none or does not parse).
func DocumentKeyID(doc string) string {
	var head struct {
		KeyID string `json:"key_id"`
	}
	_ = json.Unmarshal([]byte(doc), &head)
	return head.KeyID
}

// VerifyWithKeys checks a certificate against a key set: the key is the one
// whose id the document names (the id is inside the signed bytes, so it
// only selects; the signature decides), then VerifyCertificate. It returns
// the key id used. A document naming a key outside the set fails.
func VerifyWithKeys(keys []SigningKey, doc, sig string) (string, error) {
	id := DocumentKeyID(doc)
	i := slices.IndexFunc(keys, func(k SigningKey) bool { return k.KeyID == id })
	if i < 0 {
		if id == "" {
			return "", errNoKeyID
		}
		return id, fmt.Errorf("%w (%s)", errUnknownKey, id)
	}
	return id, VerifyCertificate(keys[i].PublicKey, doc, sig)
}

// Errors of VerifyCertificate; their text is the reason given to the caller.
var (
	errNotCanonical = errors.New("the document is not canonical JSON (it was changed after signing, or re-formatted)")
	errBadSignature = errors.New("the signature does not verify with the registry's key")
	errSigEncoding  = errors.New("the signature is not base64 of a 64-byte Ed25519 signature")
	errUnknownKey   = errors.New("the document names a signing key that is not one of the registry's keys")
	errNoKeyID      = errors.New("the document names no signing key (key_id)")
)

// VerifyCertificate checks that doc is canonical JSON and that sig (base64)
// is the signer's signature over it.
func (c *CertificateSigner) VerifyCertificate(doc, sig string) error {
	return VerifyCertificate(c.pub, doc, sig)
}

// VerifyCertificate checks a certificate against a public key: doc must be
// canonical JSON (Canonical(doc) == doc) and sig the base64 Ed25519
// signature over its bytes. It needs nothing else from the registry, so the
// same check can run anywhere (cmd/verify-certificate).
func VerifyCertificate(pub ed25519.PublicKey, doc, sig string) error {
	canon, err := Canonical([]byte(doc))
	if err != nil || !bytes.Equal(canon, []byte(doc)) {
		return errNotCanonical
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return errSigEncoding
	}
	if !ed25519.Verify(pub, []byte(doc), raw) {
		return errBadSignature
	}
	return nil
}

// Canonical returns the canonical form of the JSON value in data: object
// keys sorted by their UTF-8 bytes, no insignificant white space, numbers
// as written (certificates hold only integers), strings escaped as
// encoding/json escapes them without HTML escaping. For documents of
// strings, integers, booleans, arrays and objects of ASCII keys this is
// the JSON Canonicalization Scheme (RFC 8785), except that U+2028 and U+2029
// are escaped, so any JCS implementation reproduces the signed bytes of a
// certificate. Trailing data after the value is an error.
func Canonical(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if dec.More() {
		return nil, errors.New("canonical json: data after the value")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted and json.Number as written.
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// LoadCertificateSigner returns the deletion-certificate signer. configured
// is DELETION_SIGNING_KEY: the base64 (standard or URL alphabet, padded or
// not) of a 32-byte Ed25519 seed. When it is empty a development key is
// used instead: a random seed stored once in the registry's own database
// (st.DevSigningSeed), so that every replica and every restart signs with
// the same key. dev reports that case, which the caller must warn about: a
// key kept beside the data it certifies proves nothing to a third party.
func LoadCertificateSigner(ctx context.Context, configured string, st DataReturnStore) (signer *CertificateSigner, dev bool, err error) {
	if configured != "" {
		seed, err := decodeSeed(configured)
		if err != nil {
			return nil, false, err
		}
		signer, err := NewCertificateSigner(seed)
		return signer, false, err
	}
	candidate := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(candidate); err != nil {
		return nil, true, fmt.Errorf("generate development signing key: %w", err)
	}
	seed, err := st.DevSigningSeed(ctx, candidate)
	if err != nil {
		return nil, true, err
	}
	signer, err = NewCertificateSigner(seed)
	return signer, true, err
}

// decodeSeed decodes DELETION_SIGNING_KEY.
func decodeSeed(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != ed25519.SeedSize {
				return nil, fmt.Errorf("DELETION_SIGNING_KEY: want base64 of a %d-byte Ed25519 seed, got %d bytes", ed25519.SeedSize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("DELETION_SIGNING_KEY is not base64")
}
