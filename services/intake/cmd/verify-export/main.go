// Command verify-export checks an incident export (the JSON of
// ExportIncident, saved from REST or as protojson from gRPC) offline: it
// recomputes every timeline entry's hash from the entry's fields as the
// export's hash_scheme describes, checks that each entry commits to the one
// before it, and prints OK with the head hash, or the first broken link.
//
//	verify-export export.json
//	curl -s localhost:8080/v1/incidents/$INC:export | verify-export -
//
// It deliberately shares no code with the intake service: it is the
// reference a regulator's own script can be compared with. Exit status: 0
// when the chain verifies, 1 when it is broken, 2 when the file cannot be
// read.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

// scheme is the hash scheme this verifier implements.
const scheme = "sha256-netstring-v1"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verify-export FILE|-")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Stdin, os.Stdout, os.Stderr))
}

func run(path string, stdin io.Reader, stdout, stderr io.Writer) int {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path) //nolint:gosec // reading the file the user names is the point
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "verify-export:", err)
		return 2
	}
	var x intakev1.ExportIncidentResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &x); err != nil {
		_, _ = fmt.Fprintln(stderr, "verify-export: not an incident export:", err)
		return 2
	}
	if !strings.HasPrefix(x.GetHashScheme(), scheme+":") {
		_, _ = fmt.Fprintf(stderr, "verify-export: unsupported hash scheme (want %s)\n", scheme)
		return 2
	}
	head, err := verify(x.GetIncident().GetIncidentId(), x.GetTimeline(), x.GetHeadHash())
	if err != nil {
		_, _ = fmt.Fprintln(stdout, "BROKEN:", err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "OK: incident %s, %d entries, head hash %s\n",
		x.GetIncident().GetIncidentId(), len(x.GetTimeline()), head)
	return 0
}

// verify walks the chain and returns its head hash, or the first break.
func verify(incidentID string, entries []*intakev1.TimelineEntry, claimedHead string) (string, error) {
	prev := strings.Repeat("0", 64)
	for i, e := range entries {
		want := int64(i) + 1
		switch {
		case e.GetSeq() > want:
			return "", fmt.Errorf("seq %d MISSING: entries %d to %d are not in the export", want, want, e.GetSeq()-1)
		case e.GetSeq() < want:
			return "", fmt.Errorf("seq %d REORDERED: appears at position %d", e.GetSeq(), want)
		case e.GetIncidentId() != incidentID:
			return "", fmt.Errorf("seq %d ALTERED: belongs to incident %q, not %q", e.GetSeq(), e.GetIncidentId(), incidentID)
		}
		if got := hash(e); got != e.GetHash() {
			return "", fmt.Errorf("seq %d ALTERED: content hashes to %s, entry says %s", e.GetSeq(), got, e.GetHash())
		}
		if e.GetPrevHash() != prev {
			return "", fmt.Errorf("seq %d BROKEN_LINK: prev_hash %s, but the entry before hashes to %s", e.GetSeq(), e.GetPrevHash(), prev)
		}
		prev = e.GetHash()
	}
	if claimedHead != prev {
		return "", errors.New("head hash " + claimedHead + " is not the last entry's hash " + prev)
	}
	return prev, nil
}

// hash is the sha256-netstring-v1 hash of e: SHA-256 over netstrings
// "<len>:<bytes>," of the fields in their fixed order.
func hash(e *intakev1.TimelineEntry) string {
	h := sha256.New()
	put := func(s string) { _, _ = fmt.Fprintf(h, "%d:%s,", len(s), s) }
	put("breachline.timeline.v1")
	put(e.GetIncidentId())
	put(strconv.FormatInt(e.GetSeq(), 10))
	put(e.GetTime().AsTime().UTC().Format("2006-01-02T15:04:05.000Z"))
	put(strings.TrimPrefix(e.GetActor().GetKind().String(), "ACTOR_KIND_"))
	put(e.GetActor().GetSubject())
	put(e.GetAction())
	put(e.GetSummary())
	put(e.GetNote())
	put(e.GetRequestId())
	put(e.GetCorrelationId())
	put(strconv.Itoa(len(e.GetChanges())))
	for _, c := range e.GetChanges() {
		put(c.GetField())
		put(c.GetOldValue())
		put(c.GetNewValue())
	}
	put(e.GetPrevHash())
	return hex.EncodeToString(h.Sum(nil))
}
