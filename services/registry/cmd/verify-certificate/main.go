// Command verify-certificate checks a deletion certificate offline: that
// its document is canonical JSON and that the Ed25519 signature over it
// verifies with one of the registry's public keys. It reads the certificate
// as IssueDeletionCertificate / GetDataReturnRequest return it over REST
// (the whole response, the data return request, or the certificate object).
//
//	verify-certificate -public-key BASE64 cert.json
//	verify-certificate -keys signing-keys.json cert.json
//	curl -s localhost:8080/v1/dataReturnRequests/$DRR | verify-certificate -keys signing-keys.json -
//
// Keys survive rotation: -keys reads the key set as GetSigningKeys returns
// it over REST (GET /v1/deletionSigningKeys: the current key and the
// retired ones, each with its key id), and -public-key may be repeated. The
// certificate's document names its key id; that key verifies it (with a
// single key given, that key does). The keys to trust are the ones the
// registry published to you (the certificate's own publicKey field proves
// integrity only, so using it needs -trust-embedded-key and says so). Exit
// status: 0 valid, 1 invalid, 2 unreadable input or usage.
package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// certificate is the JSON shape of a DeletionCertificate.
type certificate struct {
	CertificateID string `json:"certificateId"`
	Document      string `json:"document"`
	Signature     string `json:"signature"`
	PublicKey     string `json:"publicKey"`
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-certificate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyArgs []string
	fs.Func("public-key", "base64 Ed25519 public key of the registry (repeatable)", func(v string) error {
		keyArgs = append(keyArgs, v)
		return nil
	})
	keysFile := fs.String("keys", "", "file with the registry's key set, as GET /v1/deletionSigningKeys returns it")
	trustEmbedded := fs.Bool("trust-embedded-key", false, "verify with the key inside the certificate (integrity only, not origin)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		_, _ = fmt.Fprintln(stderr, "usage: verify-certificate [-public-key BASE64]... [-keys FILE] FILE|-")
		return 2
	}
	var data []byte
	var err error
	if path := fs.Arg(0); path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path) //nolint:gosec // reading the file the user names is the point
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "read: %v\n", err)
		return 2
	}
	cert, err := find(data)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	if *keysFile != "" {
		set, err := readKeySet(*keysFile)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "%v\n", err)
			return 2
		}
		keyArgs = append(keyArgs, set...)
	}
	if len(keyArgs) == 0 {
		if !*trustEmbedded {
			_, _ = fmt.Fprintln(stderr, "give -public-key or -keys (or -trust-embedded-key to check integrity only)")
			return 2
		}
		keyArgs = []string{cert.PublicKey}
		_, _ = fmt.Fprintln(stderr, "warning: verifying with the key embedded in the certificate: this shows it is intact, not who signed it")
	}
	var keys []domain.SigningKey
	for _, k := range keyArgs {
		pub, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			_, _ = fmt.Fprintln(stderr, "a public key is not base64 of a 32-byte Ed25519 key")
			return 2
		}
		keys = append(keys, domain.SigningKey{KeyID: domain.KeyID(pub), PublicKey: pub})
	}
	var keyID string
	if len(keys) == 1 {
		// The one key the user named verifies, whatever key id the
		// document claims.
		keyID, err = keys[0].KeyID, domain.VerifyCertificate(keys[0].PublicKey, cert.Document, cert.Signature)
	} else {
		keyID, err = domain.VerifyWithKeys(keys, cert.Document, cert.Signature)
	}
	if err != nil {
		_, _ = fmt.Fprintf(stdout, "INVALID %s: %v\n", cert.CertificateID, err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "OK %s key %s\n", cert.CertificateID, keyID)
	return 0
}

// readKeySet reads the public keys of a GetSigningKeys answer (REST JSON:
// {"keys": [{"keyId": ..., "publicKey": ...}, ...]}).
func readKeySet(path string) ([]string, error) {
	data, err := os.ReadFile(path) //nolint:gosec // reading the file the user names is the point
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	var set struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			PublicKey string `json:"publicKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("keys: not JSON: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("keys: no key in the file (want the answer of GET /v1/deletionSigningKeys)")
	}
	out := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		out = append(out, k.PublicKey)
	}
	return out, nil
}

// find locates the certificate in a REST answer: the response
// ({"dataReturnRequest": {...}}), the request ({"certificate": {...}}) or
// the certificate itself.
func find(data []byte) (certificate, error) {
	var shapes struct {
		certificate
		Certificate       *certificate `json:"certificate"`
		DataReturnRequest *struct {
			Certificate *certificate `json:"certificate"`
		} `json:"dataReturnRequest"`
	}
	if err := json.Unmarshal(data, &shapes); err != nil {
		return certificate{}, fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case shapes.DataReturnRequest != nil && shapes.DataReturnRequest.Certificate != nil:
		return *shapes.DataReturnRequest.Certificate, nil
	case shapes.Certificate != nil:
		return *shapes.Certificate, nil
	case shapes.Document != "":
		return shapes.certificate, nil
	}
	return certificate{}, errors.New("no certificate (document and signature) in the input")
}
