package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// MachineTokens are the per-client bearer tokens of machines (SIEMs,
// Breachline's own services). Only SHA-256 hashes of the tokens are
// configured, so the configuration does not hold the credentials.
type MachineTokens struct {
	entries []machineEntry
}

type machineEntry struct {
	hash [sha256.Size]byte
	id   Identity
}

// ParseMachineTokens reads one client per line (or per ";"-separated part,
// for an environment variable):
//
//	<client name> <role>[,<role>...] <hex SHA-256 of the token>
//
// Blank lines and lines starting with "#" are ignored. The client name is
// the identity's subject (e.g. "siem:splunk-prod", "svc:dispatch"); a
// service's role is "service:<name>" (e.g. "svc:dispatch service:dispatch").
func ParseMachineTokens(text string) (*MachineTokens, error) {
	m := &MachineTokens{}
	seen := map[string][]string{}
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ';' })
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("machine token %d: want \"<client> <roles> <sha256 hex>\"", i+1)
		}
		roles, ok := splitList(f[1])
		if !subjectRE.MatchString(f[0]) || !ok {
			return nil, fmt.Errorf("machine token %d: malformed client name or roles", i+1)
		}
		if slices.Contains(roles, "service") {
			return nil, fmt.Errorf("machine token %d (%s): role \"service\" is replaced by one role per service, %s<name> (e.g. svc:intake %sintake)",
				i+1, f[0], ServiceRolePrefix, ServiceRolePrefix)
		}
		raw, err := hex.DecodeString(strings.TrimPrefix(f[2], "sha256:"))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("machine token %d (%s): hash must be 64 hex digits", i+1, f[0])
		}
		// A client may be listed again with the same roles and another
		// token: both tokens work while the client changes over (rotation).
		if prev, ok := seen[f[0]]; ok && !slices.Equal(prev, roles) {
			return nil, fmt.Errorf("machine token %d: client %s listed again with other roles (a second line is for rotating its token: same roles, new hash)", i+1, f[0])
		}
		seen[f[0]] = roles
		e := machineEntry{id: Identity{Subject: f[0], Roles: roles, Machine: true}}
		copy(e.hash[:], raw)
		if slices.ContainsFunc(m.entries, func(o machineEntry) bool { return o.hash == e.hash }) {
			return nil, fmt.Errorf("machine token %d (%s): the same token is listed twice; every client needs its own", i+1, f[0])
		}
		m.entries = append(m.entries, e)
	}
	return m, nil
}

// Len is the number of tokens (a client being rotated has two).
func (m *MachineTokens) Len() int { return len(m.entries) }

// Lookup returns the client whose token is token. Every entry is compared,
// in constant time, so timing reveals nothing about which one matched.
func (m *MachineTokens) Lookup(token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	var found Identity
	ok := 0
	for _, e := range m.entries {
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			found, ok = e.id, 1
		}
	}
	return found, ok == 1
}

// HashToken returns the configuration form of a token's hash, for
// operators minting tokens (`printf %s "$TOKEN" | sha256sum` is the same).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
