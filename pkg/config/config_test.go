package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/config"
)

func valid() config.Common {
	return config.Common{
		ListenAddr: "127.0.0.1:1", MongoURI: "mongodb://127.0.0.1:27017/", MongoDatabase: "db",
		LogLevel: "info", LogFormat: "json", ShutdownGrace: time.Second,
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		mutate  func(*config.Common)
		wantErr string
	}{
		{"valid", func(*config.Common) {}, ""},
		{"majority-required-and-missing", func(c *config.Common) { c.RequireMajority = true }, "w=majority"},
		{"majority-required-and-set", func(c *config.Common) {
			c.RequireMajority = true
			c.MongoURI = "mongodb+srv://u:p@cluster.example/?replicaSet=rs0&w=majority&retryWrites=true"
		}, ""},
		{"majority-required-other-w", func(c *config.Common) {
			c.RequireMajority = true
			c.MongoURI = "mongodb://h/?w=1"
		}, "w=majority"},
		{"bad-scheme", func(c *config.Common) { c.MongoURI = "postgres://x" }, "MONGODB_URI must start"},
		{"bad-level", func(c *config.Common) { c.LogLevel = "loud" }, "LOG_LEVEL"},
		{"negative-rate-limit", func(c *config.Common) { c.RateLimitRPS = -1 }, "GRPC_RATE_LIMIT_RPS"},
		{"dev-auth-public-bind", func(c *config.Common) { c.ListenAddr = "0.0.0.0:50051" }, "AUTH_MODE=dev"},
		{"oidc-public-bind", func(c *config.Common) {
			c.ListenAddr = "0.0.0.0:50051"
			c.Auth = auth.Config{Mode: auth.ModeOIDC, OIDCIssuer: "https://id.example.org", OIDCAudience: "breachline"}
		}, ""},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}
