// Command registry runs the Breachline registry service: customers
// (controllers) and their notification preferences, the subprocessor
// registry, data subject requests and sensitive-data removal requests, as
// four gRPC services on one port, plus the workers that complete interrupted
// subprocessor history writes, flag removal requests past their deadline
// and have dispatch e-mail customers about removal requests.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/peers"
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
	// RemovalWindow is the time a customer is given to remove sensitive
	// data it must not store with us, before we flag it for removal.
	RemovalWindow time.Duration `env:"REMOVAL_WINDOW" envDefault:"336h"`
	// RemovalCheckInterval is how long the removal-deadline worker waits
	// when no open request is past its deadline.
	RemovalCheckInterval time.Duration `env:"REMOVAL_CHECK_INTERVAL" envDefault:"1m"`
	// DispatchAddr is dispatch's gRPC address: the e-mails telling
	// customers to remove sensitive data go through its SendNotice.
	DispatchAddr string `env:"DISPATCH_ADDR" envDefault:"127.0.0.1:50054"`
	// RemovalNoticeInterval is how long the removal-notice worker waits
	// when no customer is waiting to be told.
	RemovalNoticeInterval time.Duration `env:"REMOVAL_NOTICE_INTERVAL" envDefault:"2s"`
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.HistorySyncInterval <= 0 {
		errs = append(errs, errors.New("HISTORY_SYNC_INTERVAL must be positive"))
	}
	if c.RemovalWindow <= 0 {
		errs = append(errs, errors.New("REMOVAL_WINDOW must be positive"))
	}
	if c.RemovalCheckInterval <= 0 {
		errs = append(errs, errors.New("REMOVAL_CHECK_INTERVAL must be positive"))
	}
	if c.RemovalNoticeInterval <= 0 {
		errs = append(errs, errors.New("REMOVAL_NOTICE_INTERVAL must be positive"))
	}
	if c.DispatchAddr == "" {
		errs = append(errs, errors.New("DISPATCH_ADDR is required"))
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
	dispatchConn, err := grpcx.Dial(cfg.DispatchAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dispatchConn.Close()) }()
	svc := domain.NewService(store.New(rt.DB), time.Now, domain.WithRemovalWindow(cfg.RemovalWindow),
		domain.WithNotifier(peers.NewDispatch(dispatchConn)))

	srv := grpcx.NewServer(grpcx.Options{
		Service:       "registry",
		Logger:        rt.Logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     server.NewValidator(svc),
	})
	server.Register(srv.GRPC(), svc)

	return rt.Serve(ctx, srv, cfg.ListenAddr,
		app.Worker{Name: "subprocessor-history", Idle: cfg.HistorySyncInterval, Step: svc.SyncSubprocessorHistory},
		app.Worker{Name: "removal-deadlines", Idle: cfg.RemovalCheckInterval, Step: svc.FlagOverdueRemovals},
		app.Worker{Name: "removal-notices", Idle: cfg.RemovalNoticeInterval, Step: svc.NotifyRemovalCustomers(ids.New("wrk"))})
}
