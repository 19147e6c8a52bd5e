// Command verify-certificate checks a deletion certificate offline: that
// its document is canonical JSON and that the Ed25519 signature over it
// verifies with the registry's public key. It reads the certificate as
// IssueDeletionCertificate / GetDataReturnRequest return it over REST (the
// whole response, the data return request, or the certificate object).
//
//	verify-certificate -public-key BASE64 cert.json
//	curl -s localhost:8080/v1/dataReturnRequests/$DRR | verify-certificate -public-key "$KEY" -
//
// The key to trust is the one the registry published to you (the
// certificate's own publicKey field proves integrity only, so using it
// needs -trust-embedded-key and says so). Exit status: 0 valid, 1 invalid,
// 2 unreadable input or usage.
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
	key := fs.String("public-key", "", "base64 Ed25519 public key of the registry")
	trustEmbedded := fs.Bool("trust-embedded-key", false, "verify with the key inside the certificate (integrity only, not origin)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		_, _ = fmt.Fprintln(stderr, "usage: verify-certificate -public-key BASE64 FILE|-")
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
	pubB64 := *key
	if pubB64 == "" {
		if !*trustEmbedded {
			_, _ = fmt.Fprintln(stderr, "give -public-key (or -trust-embedded-key to check integrity only)")
			return 2
		}
		pubB64 = cert.PublicKey
		_, _ = fmt.Fprintln(stderr, "warning: verifying with the key embedded in the certificate: this shows it is intact, not who signed it")
	}
	pub, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		_, _ = fmt.Fprintln(stderr, "the public key is not base64 of a 32-byte Ed25519 key")
		return 2
	}
	if err := domain.VerifyCertificate(pub, cert.Document, cert.Signature); err != nil {
		_, _ = fmt.Fprintf(stdout, "INVALID %s: %v\n", cert.CertificateID, err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "OK %s key %s\n", cert.CertificateID, domain.KeyID(pub))
	return 0
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
