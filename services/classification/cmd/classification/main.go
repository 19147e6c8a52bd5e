// Command classification runs the ClassificationService: breach assessments
// from rule packs, and the relay that hands new obligations to dispatch.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/breachline/breachline/pkg/config"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/pkg/worker"
	"github.com/breachline/breachline/services/classification/internal/dispatchclient"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules"
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
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.DispatchAddr == "" {
		errs = append(errs, errors.New("DISPATCH_ADDR is required"))
	}
	if c.RelayInterval <= 0 {
		errs = append(errs, errors.New("RELAY_INTERVAL must be positive"))
	}
	return errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "classification:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50052",
		MongoDatabase: "breachline_classification",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	logger := config.NewLogger(cfg.Common, service)

	// The rule packs are part of the configuration: a bad pack stops the
	// service before it serves a single decision.
	lib, err := rules.Embedded()
	if err != nil {
		return fmt.Errorf("load rule packs: %w", err)
	}

	shutdownTelemetry, err := telemetry.Setup(ctx, service)
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
	st := store.New(db)

	conn, err := grpcx.Dial(cfg.DispatchAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()

	svc := domain.NewService(st, rules.NewEngine(lib), time.Now)
	relay := domain.NewRelay(st, dispatchclient.New(conn), time.Now, leaseOwner(), logger)

	handler := server.New(svc)
	srv := grpcx.NewServer(grpcx.Options{Service: service, Logger: logger, ShutdownGrace: cfg.ShutdownGrace, Validator: handler})
	classificationv1.RegisterClassificationServiceServer(srv.GRPC(), handler)

	// Workers outlive the server's graceful stop and end after it, so a
	// request that just stored an assessment is not cut off from its relay.
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(workerCtx, logger, "campaigns-relay", cfg.RelayInterval, relay.Step) })
	defer wg.Wait()
	defer stopWorkers()

	logger.InfoContext(ctx, "rule packs loaded", "packs", fmt.Sprint(lib.Current(time.Now())))
	return srv.Serve(ctx, cfg.ListenAddr)
}

// leaseOwner names this process in relay leases.
func leaseOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}
