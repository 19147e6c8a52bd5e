package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/apperr"
)

// Authentication modes.
const (
	ModeDev  = "dev"
	ModeOIDC = "oidc"
)

// Config is the authentication configuration every binary shares (it is
// part of config.Common).
type Config struct {
	// Mode is "dev" (trust the development headers; loopback only) or
	// "oidc" (bearer tokens: OIDC JWTs for people, machine tokens). Empty
	// means dev.
	Mode string `env:"AUTH_MODE" envDefault:"dev"`
	// OIDCIssuer, OIDCAudience and OIDCJWKSURL: see OIDCConfig.
	OIDCIssuer   string `env:"OIDC_ISSUER"`
	OIDCAudience string `env:"OIDC_AUDIENCE"`
	OIDCJWKSURL  string `env:"OIDC_JWKS_URL"`
	// OIDCSubjectClaim, OIDCRolesClaim and OIDCCustomersClaim name the
	// claims read into the identity.
	OIDCSubjectClaim   string `env:"OIDC_SUBJECT_CLAIM" envDefault:"sub"`
	OIDCRolesClaim     string `env:"OIDC_ROLES_CLAIM" envDefault:"roles"`
	OIDCCustomersClaim string `env:"OIDC_CUSTOMERS_CLAIM" envDefault:"breachline_customers"`
	// MachineTokens lists the machine clients inline (see
	// ParseMachineTokens; ";" separates entries); MachineTokensFile names a
	// file in the same format (a mounted Secret). Both may be set.
	MachineTokens     string `env:"MACHINE_TOKENS"`
	MachineTokensFile string `env:"MACHINE_TOKENS_FILE"`
	// ServiceToken is this service's own machine token, sent when it calls
	// other services (grpcx.ServiceToken). Required in oidc mode for the
	// services that call peers.
	ServiceToken string `env:"SERVICE_TOKEN"`
}

// Validate reports every problem with the settings. listenAddr is where the
// binary will listen: dev mode refuses anything but a loopback address.
func (c Config) Validate(listenAddr string) error {
	var errs []error
	switch c.Mode {
	case ModeDev, "":
		if !IsLoopback(listenAddr) {
			errs = append(errs, fmt.Errorf("AUTH_MODE=dev trusts every caller and only listens on loopback; %q is not (set AUTH_MODE=oidc)", listenAddr))
		}
	case ModeOIDC:
		if c.OIDCIssuer == "" || c.OIDCAudience == "" {
			errs = append(errs, errors.New("AUTH_MODE=oidc needs OIDC_ISSUER and OIDC_AUDIENCE"))
		}
		for name, v := range map[string]string{"OIDC_ISSUER": c.OIDCIssuer, "OIDC_JWKS_URL": c.OIDCJWKSURL} {
			if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				errs = append(errs, fmt.Errorf("%s must be an http(s) URL", name))
			}
		}
		if _, err := ParseMachineTokens(c.MachineTokens); err != nil {
			errs = append(errs, fmt.Errorf("MACHINE_TOKENS: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("AUTH_MODE must be dev or oidc, not %q", c.Mode))
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether host:port addr listens only on loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New returns the Authenticator the configuration asks for. Dev mode logs
// a warning that it is not for production.
func New(c Config, logger *slog.Logger) (Authenticator, error) {
	if c.Mode == ModeDev || c.Mode == "" {
		logger.Warn("AUTH_MODE=dev: NO AUTHENTICATION. Every caller is trusted by header; for make run and tests only, never for real data")
		return Dev{}, nil
	}
	text := c.MachineTokens
	if c.MachineTokensFile != "" {
		b, err := os.ReadFile(c.MachineTokensFile)
		if err != nil {
			return nil, fmt.Errorf("MACHINE_TOKENS_FILE: %w", err)
		}
		text += "\n" + string(b)
	}
	machines, err := ParseMachineTokens(text)
	if err != nil {
		return nil, fmt.Errorf("machine tokens: %w", err)
	}
	oidc, err := NewOIDC(OIDCConfig{
		Issuer: c.OIDCIssuer, Audience: c.OIDCAudience, JWKSURL: c.OIDCJWKSURL,
		SubjectClaim: c.OIDCSubjectClaim, RolesClaim: c.OIDCRolesClaim, CustomersClaim: c.OIDCCustomersClaim,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("authentication", "mode", c.Mode, "issuer", c.OIDCIssuer, "machine_tokens", machines.Len())
	return Bearer{OIDC: oidc, Machines: machines}, nil
}

// Bearer authenticates "authorization: Bearer <token>": a machine token
// when the token is one, else an OIDC JWT.
type Bearer struct {
	OIDC     *OIDC
	Machines *MachineTokens
}

// Authenticate implements Authenticator.
func (b Bearer) Authenticate(ctx context.Context, md metadata.MD) (Identity, error) {
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return Identity{}, fmt.Errorf("no bearer token: %w", apperr.ErrUnauthenticated)
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return Identity{}, fmt.Errorf("authorization must be \"Bearer <token>\": %w", apperr.ErrUnauthenticated)
	}
	if b.Machines != nil {
		if id, ok := b.Machines.Lookup(token); ok {
			return onBehalfOf(id, md)
		}
	}
	if b.OIDC == nil || strings.Count(token, ".") != 2 {
		return Identity{}, errToken("unknown token")
	}
	id, err := b.OIDC.Verify(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	return onBehalfOf(id, md)
}
