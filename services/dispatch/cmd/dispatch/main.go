// Command dispatch serves DispatchService: it drafts notice campaigns from
// classification's obligations.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/breachline/breachline/pkg/config"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

const service = "dispatch"

// Config is dispatch's configuration, from the environment.
type Config struct {
	config.Common
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50054",
		MongoDatabase: "breachline_dispatch",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	logger := config.NewLogger(cfg.Common, service)

	shutdownTelemetry, err := telemetry.Setup(ctx, service)
	if err != nil {
		return err
	}
	defer func() {
		// Flush last, after the server and store, so their spans are kept.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, shutdownTelemetry(flushCtx))
	}()

	client, err := mongox.Connect(ctx, cfg.MongoURI)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, client.Disconnect(closeCtx))
	}()
	db := client.Database(cfg.MongoDatabase)
	if err := store.EnsureIndexes(ctx, db); err != nil {
		return err
	}

	handler := server.New(domain.NewService(store.New(db), time.Now))
	srv := grpcx.NewServer(grpcx.Options{
		Service:       service,
		Logger:        logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     handler,
	})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	// Serve logs "listening" with the address and returns once ctx is done
	// and in-flight calls have finished.
	return srv.Serve(ctx, cfg.ListenAddr)
}
