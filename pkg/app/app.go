// Package app is the start-up and shutdown sequence every service binary
// shares, so each main only wires its own parts:
//
//	config (validated) → logger → telemetry → MongoDB → indexes → migrations → server + workers
//
// and on SIGINT/SIGTERM, in reverse: the server drains and stops, then the
// workers, then the MongoDB client, and telemetry is flushed last so the
// final spans are kept.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/config"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/telemetry"
	"github.com/breachline/breachline/pkg/worker"
)

// Main runs run once with a context cancelled by SIGINT or SIGTERM, and
// exits non-zero with the error when run fails.
func Main(service string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		_, _ = fmt.Fprintln(os.Stderr, service+":", err)
		os.Exit(1)
	}
}

// Runtime is a started service's shared infrastructure.
type Runtime struct {
	// Logger is the service's structured logger.
	Logger *slog.Logger
	// DB is the service's own database, with its indexes in place.
	DB *mongo.Database
	// Auth authenticates the service's callers as configured (AUTH_MODE);
	// pass it to grpcx.Options.
	Auth auth.Authenticator
	// ServerTLS secures the service's listener (GRPC_TLS_*); nil means
	// plaintext. Pass it to grpcx.Options.Creds.
	ServerTLS credentials.TransportCredentials
	// RateLimit bounds each caller's calls (GRPC_RATE_LIMIT_*; none in
	// dev mode). Pass it to grpcx.Options.
	RateLimit grpcx.RateLimit

	clientTLS    credentials.TransportCredentials
	serviceToken string
	client       *mongo.Client
	shutdown     telemetry.Shutdown
}

// Start sets up logging, telemetry and the database for service: it connects
// to MongoDB, creates the indexes idx and runs the migrations not yet done
// (waiting for another replica that is running one). Call Close when done,
// even after Serve returned.
func Start(ctx context.Context, service string, common config.Common, idx mongox.Indexes, migrations ...migrate.Migration) (*Runtime, error) {
	logger := config.NewLogger(common, service)
	shutdown, err := telemetry.Setup(ctx, service)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{Logger: logger, shutdown: shutdown, serviceToken: common.Auth.ServiceToken}
	if rt.Auth, err = auth.New(common.Auth, logger); err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	if common.Auth.Mode == auth.ModeOIDC {
		rt.RateLimit = grpcx.RateLimit{RPS: common.RateLimitRPS, Burst: common.RateLimitBurst}
	}
	if rt.ServerTLS, err = common.TLS.ServerCredentials(); err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	if rt.clientTLS, err = common.TLS.ClientCredentials(); err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	client, err := mongox.Connect(ctx, common.MongoURI)
	if err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	rt.client = client
	rt.DB = client.Database(common.MongoDatabase)
	if err := mongox.EnsureIndexes(ctx, rt.DB, idx); err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	host, _ := os.Hostname()
	err = migrate.Run(ctx, rt.DB, migrations, migrate.Options{
		Owner: fmt.Sprintf("%s/%s/%d", service, host, os.Getpid()), Logger: logger,
	})
	if err != nil {
		return nil, errors.Join(err, rt.Close(ctx))
	}
	return rt, nil
}

// Dial returns a connection to another Breachline service at addr that
// authenticates with the service's own token (SERVICE_TOKEN) over TLS when
// GRPC_TLS_* is configured (see grpcx.Dial).
func (rt *Runtime) Dial(addr string) (*grpc.ClientConn, error) {
	return grpcx.Dial(addr, grpcx.Transport(rt.clientTLS), grpcx.ServiceToken(rt.serviceToken))
}

// Close disconnects from MongoDB and then flushes telemetry.
func (rt *Runtime) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	if rt.client != nil {
		errs = append(errs, rt.client.Disconnect(ctx))
	}
	errs = append(errs, rt.shutdown(ctx))
	return errors.Join(errs...)
}

// Worker is a background loop of the service (see worker.Run).
type Worker struct {
	// Name appears in the logs.
	Name string
	// Idle is the wait after a step that found nothing or failed.
	Idle time.Duration
	// Step does one unit of work.
	Step worker.Step
}

// Serve runs the workers and serves srv on addr until ctx is done. The
// workers keep running while the server drains, so a request that just
// recorded pending work is not cut off from the worker that carries it on,
// and they stop before Serve returns, so none runs after Close.
func (rt *Runtime) Serve(ctx context.Context, srv *grpcx.Server, addr string, workers ...Worker) error {
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { worker.Run(workerCtx, rt.Logger, w.Name, w.Idle, w.Step) })
	}
	err := srv.Serve(ctx, addr)
	stopWorkers()
	wg.Wait()
	return err
}
