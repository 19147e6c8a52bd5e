// Command classification runs the ClassificationService: breach assessments
// from rule packs, the relay that hands new obligations to dispatch, and the
// relay that opens sensitive-data removal requests in the registry.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/classification/internal/dispatchclient"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/registryclient"
	"github.com/breachline/breachline/services/classification/internal/rules"
	"github.com/breachline/breachline/services/classification/internal/scanner"
	"github.com/breachline/breachline/services/classification/internal/server"
	"github.com/breachline/breachline/services/classification/internal/store"
)

const service = "classification"

// Config is the service's configuration, from the environment.
type Config struct {
	config.Common
	// DispatchAddr is DispatchService's address, for the campaigns relay.
	DispatchAddr string `env:"DISPATCH_ADDR" envDefault:"127.0.0.1:50054"`
	// RelayInterval is how long the relay idles when nothing is due.
	RelayInterval time.Duration `env:"RELAY_INTERVAL" envDefault:"500ms"`
	// RelayLease is how long a replica holds a claimed assessment; a replica
	// that dies delays that hand-over by at most this long.
	RelayLease time.Duration `env:"RELAY_LEASE" envDefault:"30s"`
	// RegistryAddr is the registry's address, for customers' contractual
	// notification terms.
	RegistryAddr string `env:"REGISTRY_ADDR" envDefault:"127.0.0.1:50053"`
	// RulePacksDir optionally holds rule packs that override (same id and
	// version) or extend the embedded ones; it is polled for changes.
	RulePacksDir string `env:"RULE_PACKS_DIR"`
	// RulePacksPoll is how often RULE_PACKS_DIR is checked for changes.
	RulePacksPoll time.Duration `env:"RULE_PACKS_POLL" envDefault:"5s"`
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.RelayLease < time.Second {
		errs = append(errs, errors.New("RELAY_LEASE must be at least 1s"))
	}
	if c.DispatchAddr == "" {
		errs = append(errs, errors.New("DISPATCH_ADDR is required"))
	}
	if c.RelayInterval <= 0 {
		errs = append(errs, errors.New("RELAY_INTERVAL must be positive"))
	}
	if c.RegistryAddr == "" {
		errs = append(errs, errors.New("REGISTRY_ADDR is required"))
	}
	if c.RulePacksPoll <= 0 {
		errs = append(errs, errors.New("RULE_PACKS_POLL must be positive"))
	}
	return errors.Join(errs...)
}

func main() { app.Main(service, run) }

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50052",
		MongoDatabase: "breachline_classification",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	// The rule packs are part of the configuration: a bad pack stops the
	// service before it serves a single decision.
	lib, err := rules.Embedded()
	if err != nil {
		return fmt.Errorf("load rule packs: %w", err)
	}
	engine := rules.NewEngine(lib)
	rt, err := app.Start(ctx, service, cfg.Common, store.Indexes())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Close(ctx)) }()
	st := store.New(rt.DB)
	workers := []app.Worker{}
	if cfg.RulePacksDir != "" {
		// Start-up with a bad directory fails like a bad embedded pack; later
		// bad edits are rejected and the active set stays.
		reloader := rules.NewReloader(engine, cfg.RulePacksDir, rt.Logger)
		if err := reloader.Load(); err != nil {
			return err
		}
		workers = append(workers, app.Worker{Name: "rule-packs-reload", Idle: cfg.RulePacksPoll, Step: reloader.Step})
	}

	conn, err := rt.Dial(cfg.DispatchAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()

	registryConn, err := rt.Dial(cfg.RegistryAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, registryConn.Close()) }()

	svc := domain.NewService(st, engine, registryclient.New(registryConn, rt.Logger), time.Now)
	relay := domain.NewRelay(st, dispatchclient.New(conn), time.Now, leaseOwner(), rt.Logger).WithLease(cfg.RelayLease)

	handler := server.New(svc, engine, time.Now)
	handovers := store.NewHandovers(rt.DB)
	registry := registryclient.New(registryConn, rt.Logger)
	removals := domain.NewHandoverRelay(handovers, registry, time.Now, leaseOwner(), rt.Logger).WithLease(cfg.RelayLease)
	scan := server.NewScanner(scanner.New()).WithHandovers(handovers, time.Now)
	srv := grpcx.NewServer(grpcx.Options{
		Creds: rt.ServerTLS, HealthAddr: cfg.HealthAddr, RateLimit: rt.RateLimit,
		Service: service, Logger: rt.Logger, ShutdownGrace: cfg.ShutdownGrace, Authenticator: rt.Auth,
		Validator: server.Validators{handler, scan},
		// Scans take up to 8 MiB of content; the margin lets an oversized
		// one reach the handler and get its precise field violation.
		MaxRecvBytes: scanner.MaxContentBytes + 1<<20,
	})
	classificationv1.RegisterClassificationServiceServer(srv.GRPC(), handler)
	classificationv1.RegisterScannerServiceServer(srv.GRPC(), scan)

	rt.Logger.InfoContext(ctx, "rule packs loaded", "packs", len(engine.Library().Current(time.Now())), "dir", cfg.RulePacksDir)
	workers = append(workers,
		app.Worker{Name: "campaigns-relay", Idle: cfg.RelayInterval, Step: relay.Step},
		app.Worker{Name: "removal-handover-relay", Idle: cfg.RelayInterval, Step: removals.Step})
	return rt.Serve(ctx, srv, cfg.ListenAddr, workers...)
}

// leaseOwner names this process in relay leases.
func leaseOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}
