// Command intake runs the Breachline intake service: IntakeService over gRPC
// and the relay that obtains a breach assessment from classification for
// every new incident.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/breachline/breachline/pkg/config"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/pkg/worker"
	"github.com/breachline/breachline/services/intake/internal/classify"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// Config is intake's configuration, read from the environment.
type Config struct {
	config.Common
	// ClassificationAddr is where ClassificationService listens.
	ClassificationAddr string `env:"CLASSIFICATION_ADDR" envDefault:"127.0.0.1:50052"`
	// RelayInterval is how long the assessment relay waits when it finds
	// nothing due (or the store fails) before looking again.
	RelayInterval time.Duration `env:"RELAY_INTERVAL" envDefault:"500ms"`
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if _, _, err := net.SplitHostPort(c.ClassificationAddr); err != nil {
		errs = append(errs, fmt.Errorf("CLASSIFICATION_ADDR must be host:port, not %q", c.ClassificationAddr))
	}
	if c.RelayInterval <= 0 {
		errs = append(errs, errors.New("RELAY_INTERVAL must be positive"))
	}
	return errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50051",
		MongoDatabase: "breachline_intake",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	logger := config.NewLogger(cfg.Common, "intake")

	shutdownTelemetry, err := telemetry.Setup(ctx, "intake")
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

	conn, err := grpcx.Dial(cfg.ClassificationAddr)
	if err != nil {
		return err
	}
	defer conn.Close() //nolint:errcheck // closing a client conn at exit has nothing to report

	host, _ := os.Hostname()
	relay := domain.NewRelay(st, classify.New(conn), time.Now, logger, domain.RelayOptions{
		Owner: host + "/" + ids.New("relay"),
	})

	handler := server.New(domain.NewIntake(st, time.Now))
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", Logger: logger, ShutdownGrace: cfg.ShutdownGrace, Validator: handler})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), handler)

	// Workers stop after the server so no accepted report waits on them,
	// and before the store closes so a step never runs without it.
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(workerCtx, logger, "assessment-relay", cfg.RelayInterval, relay.Step) })
	defer func() {
		stopWorkers()
		wg.Wait()
	}()

	return srv.Serve(ctx, cfg.ListenAddr)
}
