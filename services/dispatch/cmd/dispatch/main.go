// Command dispatch serves DispatchService: it drafts notice campaigns from
// classification's obligations.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

const service = "dispatch"

// Config is dispatch's configuration, from the environment.
type Config struct {
	config.Common
}

func main() { app.Main(service, run) }

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50054",
		MongoDatabase: "breachline_dispatch",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	rt, err := app.Start(ctx, service, cfg.Common, store.Indexes())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Close(ctx)) }()

	handler := server.New(domain.NewService(store.New(rt.DB), time.Now))
	srv := grpcx.NewServer(grpcx.Options{
		Service:       service,
		Logger:        rt.Logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     handler,
	})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	return rt.Serve(ctx, srv, cfg.ListenAddr)
}
