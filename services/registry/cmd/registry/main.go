// Command registry runs the Breachline registry service: customers
// (controllers) and their notification preferences, the subprocessor
// registry, and data subject requests, as three gRPC services on one port,
// plus the worker that completes interrupted subprocessor history writes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/breachline/breachline/pkg/config"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/pkg/worker"
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50053",
		MongoDatabase: "breachline_registry",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	logger := config.NewLogger(cfg.Common, "registry")

	shutdownTelemetry, err := telemetry.Setup(ctx, "registry")
	if err != nil {
		return err
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, shutdownTelemetry(flushCtx))
	}()

	client, err := mongox.Connect(ctx, cfg.MongoURI)
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, client.Disconnect(dctx))
	}()
	db := client.Database(cfg.MongoDatabase)
	if err := mongox.EnsureIndexes(ctx, db, store.Indexes()); err != nil {
		return err
	}
	svc := domain.NewService(store.New(db), time.Now)

	srv := grpcx.NewServer(grpcx.Options{
		Service:       "registry",
		Logger:        logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     server.NewValidator(svc),
	})
	server.Register(srv.GRPC(), svc)

	// The worker stops after the server and before the store closes, so a
	// step never runs without its database.
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		worker.Run(workerCtx, logger, "subprocessor-history", cfg.HistorySyncInterval, svc.SyncSubprocessorHistory)
	})
	defer func() {
		stopWorkers()
		wg.Wait()
	}()

	return srv.Serve(ctx, cfg.ListenAddr)
}
