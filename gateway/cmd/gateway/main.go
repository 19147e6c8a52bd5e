// Command gateway serves the REST/JSON API (grpc-gateway) in front of the
// Breachline services, with the OpenAPI document and a /healthz that reflects
// the backends.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"google.golang.org/grpc"

	"github.com/breachline/breachline/gateway/internal/server"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/config"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/pkg/tlsx"
)

// Config is the gateway's configuration, from the environment.
type Config struct {
	HTTPAddr           string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	IntakeAddr         string `env:"INTAKE_ADDR" envDefault:"127.0.0.1:50051"`
	ClassificationAddr string `env:"CLASSIFICATION_ADDR" envDefault:"127.0.0.1:50052"`
	RegistryAddr       string `env:"REGISTRY_ADDR" envDefault:"127.0.0.1:50053"`
	DispatchAddr       string `env:"DISPATCH_ADDR" envDefault:"127.0.0.1:50054"`
	MaxBodyBytes       int64  `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	MaxImportBytes     int64  `env:"MAX_IMPORT_BYTES" envDefault:"1073741824"`
	// Abuse resistance (see server.Options): per-caller token buckets,
	// default deadlines, CORS and HSTS.
	RateLimitRPS       float64       `env:"RATE_LIMIT_RPS" envDefault:"50"`
	RateLimitBurst     int           `env:"RATE_LIMIT_BURST" envDefault:"100"`
	CallTimeout        time.Duration `env:"GATEWAY_CALL_TIMEOUT" envDefault:"30s"`
	ExportTimeout      time.Duration `env:"GATEWAY_EXPORT_TIMEOUT" envDefault:"5m"`
	CORSAllowedOrigins []string      `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
	HSTSMaxAge         time.Duration `env:"HSTS_MAX_AGE" envDefault:"0s"`
	LogLevel           string        `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat          string        `env:"LOG_FORMAT" envDefault:"json"`
	ShutdownGrace      time.Duration `env:"SHUTDOWN_GRACE" envDefault:"10s"`
	// Auth: the gateway forwards credentials and the services verify them,
	// but AUTH_MODE=dev still keeps the gateway on loopback.
	Auth auth.Config
	// TLS to the services (GRPC_TLS_*): the gateway verifies them against
	// the CA and presents its own certificate when they require one.
	TLS tlsx.Config
}

// Validate reports configuration errors before anything starts.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{
		"HTTP_ADDR": c.HTTPAddr, "INTAKE_ADDR": c.IntakeAddr, "CLASSIFICATION_ADDR": c.ClassificationAddr,
		"REGISTRY_ADDR": c.RegistryAddr, "DISPATCH_ADDR": c.DispatchAddr,
	} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port", name, addr))
		}
	}
	if c.MaxImportBytes <= 0 {
		errs = append(errs, errors.New("MAX_IMPORT_BYTES must be positive"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("MAX_BODY_BYTES must be positive"))
	}
	if c.RateLimitRPS < 0 || c.RateLimitBurst < 0 {
		errs = append(errs, errors.New("RATE_LIMIT_RPS and RATE_LIMIT_BURST must not be negative (RATE_LIMIT_RPS=0 turns the limit off)"))
	}
	if c.CallTimeout <= 0 || c.ExportTimeout <= 0 {
		errs = append(errs, errors.New("GATEWAY_CALL_TIMEOUT and GATEWAY_EXPORT_TIMEOUT must be positive"))
	}
	if c.HSTSMaxAge < 0 {
		errs = append(errs, errors.New("HSTS_MAX_AGE must not be negative"))
	}
	for _, o := range c.CORSAllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q must be an origin such as https://app.example.com (no wildcard, no path)", o))
		}
	}
	errs = append(errs, config.Common{
		ListenAddr: c.HTTPAddr, MongoURI: "mongodb://unused", MongoDatabase: "unused",
		LogLevel: c.LogLevel, LogFormat: c.LogFormat, ShutdownGrace: c.ShutdownGrace, Auth: c.Auth, TLS: c.TLS,
	}.Validate())
	return errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := env.Parse(&cfg); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := config.NewLogger(config.Common{LogLevel: cfg.LogLevel, LogFormat: cfg.LogFormat}, "gateway")
	if cfg.Auth.Mode != auth.ModeOIDC {
		logger.Warn("AUTH_MODE=dev: the services trust the x-breachline-dev-* headers this gateway forwards; for make run and tests only")
	}
	shutdownTelemetry, err := telemetry.Setup(ctx, "gateway")
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTelemetry(context.WithoutCancel(ctx)) }()

	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	backendTLS, err := cfg.TLS.ClientCredentials()
	if err != nil {
		return err
	}
	dial := func(addr string) (*grpc.ClientConn, error) {
		c, err := grpcx.Dial(addr, grpcx.Transport(backendTLS))
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	var b server.Backends
	for _, d := range []struct {
		addr string
		dst  *grpc.ClientConnInterface
	}{
		{cfg.IntakeAddr, &b.Intake}, {cfg.ClassificationAddr, &b.Classification},
		{cfg.RegistryAddr, &b.Registry}, {cfg.DispatchAddr, &b.Dispatch},
	} {
		c, err := dial(d.addr)
		if err != nil {
			return err
		}
		*d.dst = c
	}
	// The gateway verifies credentials only to give each caller its own
	// rate-limit budget; the services authenticate every call themselves.
	authn, err := auth.New(cfg.Auth, logger)
	if err != nil {
		return err
	}
	handler, err := server.New(ctx, b, server.Options{
		Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes, MaxImportBytes: cfg.MaxImportBytes,
		RateLimitRPS: cfg.RateLimitRPS, RateLimitBurst: cfg.RateLimitBurst, Authenticator: authn,
		CallTimeout: cfg.CallTimeout, ExportTimeout: cfg.ExportTimeout,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins, HSTSMaxAge: cfg.HSTSMaxAge,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	logger.Info("listening", "addr", lis.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("graceful shutdown timed out", "error", err.Error())
	}
	logger.Info("stopped")
	return nil
}
