// Package config loads a service's typed configuration from the environment
// and validates it before anything starts.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/tlsx"
)

// Common is the configuration every service shares. Embed it in a service's
// Config; set service defaults with envDefault on the embedding struct or by
// filling the fields before calling Load.
type Common struct {
	// ListenAddr is the gRPC listen address, e.g. "127.0.0.1:50051".
	ListenAddr string `env:"LISTEN_ADDR"`
	// MongoURI is the MongoDB connection string. Production: a replica set
	// with w=majority; `make run`: the embedded store.
	MongoURI string `env:"MONGODB_URI"`
	// MongoDatabase is the database holding this service's collections.
	MongoDatabase string `env:"MONGODB_DATABASE"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// LogFormat is json or text.
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
	// ShutdownGrace bounds graceful shutdown.
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"10s"`
	// RequireMajority makes the service refuse a MongoDB URI that does not
	// ask for w=majority, so production cannot silently acknowledge writes
	// a failover would lose. The production overlay sets it.
	RequireMajority bool `env:"MONGODB_REQUIRE_MAJORITY" envDefault:"false"`
	// Auth is how callers are authenticated (AUTH_MODE, OIDC_*,
	// MACHINE_TOKENS, SERVICE_TOKEN); dev mode refuses a non-loopback
	// ListenAddr.
	Auth auth.Config
	// TLS secures the gRPC connections between the services
	// (GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE, GRPC_TLS_CA_FILE,
	// GRPC_TLS_REQUIRE_CLIENT_CERT); unset means plaintext.
	TLS tlsx.Config
	// HealthAddr, when set, serves the health service alone in plaintext
	// for Kubernetes probes, which cannot speak TLS (grpcx.Options).
	HealthAddr string `env:"HEALTH_ADDR"`
	// RateLimitRPS and RateLimitBurst bound each caller's gRPC calls to
	// the service (grpcx.RateLimit): a token bucket per authenticated
	// subject, Breachline's own services exempt. Only in AUTH_MODE=oidc:
	// in dev mode a subject is whatever the caller says, so a limit per
	// subject would limit nothing. 0 RPS turns it off.
	RateLimitRPS   float64 `env:"GRPC_RATE_LIMIT_RPS" envDefault:"200"`
	RateLimitBurst int     `env:"GRPC_RATE_LIMIT_BURST" envDefault:"400"`
}

// Validate reports every problem with the common settings.
func (c Common) Validate() error {
	var errs []error
	if c.ListenAddr == "" {
		errs = append(errs, errors.New("LISTEN_ADDR is required"))
	}
	if c.MongoURI == "" {
		errs = append(errs, errors.New("MONGODB_URI is required"))
	} else if !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
		errs = append(errs, errors.New("MONGODB_URI must start with mongodb:// or mongodb+srv://"))
	}
	if c.RequireMajority && !hasMajorityWrites(c.MongoURI) {
		errs = append(errs, errors.New("MONGODB_URI must set w=majority when MONGODB_REQUIRE_MAJORITY is true"))
	}
	if c.MongoDatabase == "" {
		errs = append(errs, errors.New("MONGODB_DATABASE is required"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be json or text, not %q", c.LogFormat))
	}
	if c.ShutdownGrace <= 0 {
		errs = append(errs, errors.New("SHUTDOWN_GRACE must be positive"))
	}
	if c.RateLimitRPS < 0 || c.RateLimitBurst < 0 {
		errs = append(errs, errors.New("GRPC_RATE_LIMIT_RPS and GRPC_RATE_LIMIT_BURST must not be negative"))
	}
	errs = append(errs, c.Auth.Validate(c.ListenAddr), c.TLS.Validate())
	return errors.Join(errs...)
}

// hasMajorityWrites reports whether the URI's options ask for majority
// write concern.
func hasMajorityWrites(uri string) bool {
	_, query, ok := strings.Cut(uri, "?")
	if !ok {
		return false
	}
	values, err := url.ParseQuery(query)
	return err == nil && strings.EqualFold(values.Get("w"), "majority")
}

// Validator is implemented by configs with rules of their own.
type Validator interface {
	Validate() error
}

// Load fills cfg from the environment (over any defaults already in it) and
// validates it when it implements Validator.
func Load(cfg any) error {
	if err := env.Parse(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// NewLogger returns the service's structured logger on stderr.
func NewLogger(c Common, service string) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if c.LogFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	} else {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("service", service)
}
