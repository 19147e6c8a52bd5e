// Command registry runs the Breachline registry service: customers
// (controllers) and their notification preferences, the subprocessor
// registry, and data subject requests, as three gRPC services on one port,
// plus the worker that completes interrupted subprocessor history writes.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/server"
	"github.com/breachline/breachline/services/registry/internal/store"
)

// Config is the registry's configuration, read from the environment.
type Config struct {
	config.Common
	// HistorySyncInterval is how long the subprocessor history worker waits
	// when it finds nothing to repair (or the store fails) before looking
	// again.
	HistorySyncInterval time.Duration `env:"HISTORY_SYNC_INTERVAL" envDefault:"30s"`
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.HistorySyncInterval <= 0 {
		errs = append(errs, errors.New("HISTORY_SYNC_INTERVAL must be positive"))
	}
	return errors.Join(errs...)
}

func main() { app.Main("registry", run) }

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50053",
		MongoDatabase: "breachline_registry",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	rt, err := app.Start(ctx, "registry", cfg.Common, store.Indexes())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Close(ctx)) }()
	svc := domain.NewService(store.New(rt.DB), time.Now)

	srv := grpcx.NewServer(grpcx.Options{
		Service:       "registry",
		Logger:        rt.Logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     server.NewValidator(svc),
	})
	server.Register(srv.GRPC(), svc)

	return rt.Serve(ctx, srv, cfg.ListenAddr,
		app.Worker{Name: "subprocessor-history", Idle: cfg.HistorySyncInterval, Step: svc.SyncSubprocessorHistory})
}
