// Command registry runs the Breachline registry service: customers
// (controllers) and their notification preferences, the subprocessor
// registry, data subject requests, data return/deletion requests with
// signed deletion certificates, sensitive-data removal requests and the
// customer audit export, as gRPC services on one port, plus the workers
// that complete interrupted subprocessor history writes, flag removal
// requests past their deadline, and have dispatch e-mail customers about
// removal requests and forward data subject requests (and remind of their
// due dates).
package main

import (
	"context"
	"errors"
	"fmt"
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
	// SubprocessorObjectionWindow is how long customers may object to a
	// proposed subprocessor change, unless the change sets its own.
	SubprocessorObjectionWindow time.Duration `env:"SUBPROCESSOR_OBJECTION_WINDOW" envDefault:"720h"`
	// SubprocessorCheckRefresh bounds how stale CheckSubprocessor answers
	// may be after a change made through another replica.
	SubprocessorCheckRefresh time.Duration `env:"SUBPROCESSOR_CHECK_REFRESH" envDefault:"100ms"`
	// SubprocessorNoticeInterval is how long the change-notice worker waits
	// when no customer is waiting to be told of a proposed change.
	SubprocessorNoticeInterval time.Duration `env:"SUBPROCESSOR_NOTICE_INTERVAL" envDefault:"2s"`
	// DSRForwardInterval is how long the data-subject-request forwarding
	// relay waits when no request is waiting to be forwarded.
	DSRForwardInterval time.Duration `env:"DSR_FORWARD_INTERVAL" envDefault:"2s"`
	// DSRReminderWindow is how close to its due date an open data subject
	// request gets a (single) reminder e-mail to the controller.
	DSRReminderWindow time.Duration `env:"DSR_REMINDER_WINDOW" envDefault:"168h"`
	// DSRReminderInterval is how long the reminder worker waits when no
	// request needs a reminder.
	DSRReminderInterval time.Duration `env:"DSR_REMINDER_INTERVAL" envDefault:"1m"`
	// RelayLease is how long a notice worker (DSR forwarding and
	// reminders, removal notices, subprocessor change notices) holds the
	// item it claimed: a replica that dies mid-step delays its item by at
	// most this long. It must stay above the longest step (one dispatch
	// SendNotice call and the store writes around it).
	RelayLease time.Duration `env:"RELAY_LEASE" envDefault:"1m"`
	// DeletionSigningKey is the base64 32-byte Ed25519 seed that signs
	// deletion certificates. Empty: a development key kept in the
	// registry's database is used, with a warning at start-up.
	DeletionSigningKey string `env:"DELETION_SIGNING_KEY"`
	// DeletionRetiredPublicKeys are the base64 Ed25519 public keys of
	// earlier signing keys (comma-separated): after a rotation of
	// DELETION_SIGNING_KEY, certificates they signed still verify.
	DeletionRetiredPublicKeys string `env:"DELETION_RETIRED_PUBLIC_KEYS"`
	// IntakeAddr is intake's gRPC address: the audit export reads a
	// customer's incidents from it.
	IntakeAddr string `env:"INTAKE_ADDR" envDefault:"127.0.0.1:50051"`
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
	if c.SubprocessorObjectionWindow < time.Hour {
		errs = append(errs, errors.New("SUBPROCESSOR_OBJECTION_WINDOW must be at least 1h"))
	}
	if c.SubprocessorCheckRefresh <= 0 || c.SubprocessorNoticeInterval <= 0 {
		errs = append(errs, errors.New("SUBPROCESSOR_CHECK_REFRESH and SUBPROCESSOR_NOTICE_INTERVAL must be positive"))
	}
	if c.DSRForwardInterval <= 0 || c.DSRReminderWindow <= 0 || c.DSRReminderInterval <= 0 {
		errs = append(errs, errors.New("DSR_FORWARD_INTERVAL, DSR_REMINDER_WINDOW and DSR_REMINDER_INTERVAL must be positive"))
	}
	if c.RelayLease < time.Second {
		errs = append(errs, errors.New("RELAY_LEASE must be at least 1s"))
	}
	if c.IntakeAddr == "" {
		errs = append(errs, errors.New("INTAKE_ADDR is required"))
	}
	if _, err := domain.ParsePublicKeys(c.DeletionRetiredPublicKeys); err != nil {
		errs = append(errs, fmt.Errorf("DELETION_RETIRED_PUBLIC_KEYS: %w", err))
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
	dispatchConn, err := rt.Dial(cfg.DispatchAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dispatchConn.Close()) }()
	intakeConn, err := rt.Dial(cfg.IntakeAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, intakeConn.Close()) }()
	st := store.New(rt.DB)
	signer, devKey, err := domain.LoadCertificateSigner(ctx, cfg.DeletionSigningKey, st)
	if err != nil {
		return err
	}
	retired, _ := domain.ParsePublicKeys(cfg.DeletionRetiredPublicKeys) // checked by Validate
	if devKey {
		rt.Logger.Warn("DELETION_SIGNING_KEY is not set: deletion certificates are signed with a development key kept in the registry database; set it in production",
			"key_id", signer.KeyID())
	}
	svc := domain.NewService(st, time.Now, domain.WithRemovalWindow(cfg.RemovalWindow),
		domain.WithCertificateSigner(signer), domain.WithRetiredSigningKeys(retired...), domain.WithIncidents(peers.NewIntake(intakeConn)),
		domain.WithNotifier(peers.NewDispatch(dispatchConn)), domain.WithCampaigns(peers.NewDispatch(dispatchConn)),
		domain.WithObjectionWindow(cfg.SubprocessorObjectionWindow), domain.WithCheckRefresh(cfg.SubprocessorCheckRefresh),
		domain.WithRelayLease(cfg.RelayLease))

	srv := grpcx.NewServer(grpcx.Options{
		Creds: rt.ServerTLS, HealthAddr: cfg.HealthAddr, RateLimit: rt.RateLimit,
		Service:       "registry",
		Authenticator: rt.Auth,
		Logger:        rt.Logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     server.NewValidator(svc),
		QuietMethods:  server.QuietMethods,
	})
	server.Register(srv.GRPC(), svc)

	return rt.Serve(ctx, srv, cfg.ListenAddr,
		app.Worker{Name: "subprocessor-history", Idle: cfg.HistorySyncInterval, Step: svc.SyncSubprocessorHistory},
		app.Worker{Name: "removal-deadlines", Idle: cfg.RemovalCheckInterval, Step: svc.FlagOverdueRemovals},
		app.Worker{Name: "removal-notices", Idle: cfg.RemovalNoticeInterval, Step: svc.NotifyRemovalCustomers(ids.New("wrk"))},
		app.Worker{Name: "dsr-forward", Idle: cfg.DSRForwardInterval, Step: svc.ForwardDataSubjectRequests(ids.New("wrk"))},
		app.Worker{Name: "dsr-reminders", Idle: cfg.DSRReminderInterval, Step: svc.RemindDueDataSubjectRequests(ids.New("wrk"), cfg.DSRReminderWindow)},
		app.Worker{Name: "subprocessor-change-notices", Idle: cfg.SubprocessorNoticeInterval, Step: svc.NotifyChangeCustomers(ids.New("wrk"))})
}
