// Command intake runs the Breachline intake service: IntakeService,
// AffectedIndividualsService and ResponseService over gRPC, the relay that
// obtains a breach assessment from classification for every new incident,
// and the response workers (playbook tasks and team alert for every new
// incident; overdue-task escalation).
package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/intake/internal/classify"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/notify"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// Config is intake's configuration, read from the environment.
type Config struct {
	config.Common
	// ClassificationAddr is where ClassificationService listens.
	ClassificationAddr string `env:"CLASSIFICATION_ADDR" envDefault:"127.0.0.1:50052"`
	// DispatchAddr is where DispatchService listens; the response workflow
	// e-mails the team alert and overdue-task escalations through it. Empty
	// records them on the timeline only.
	DispatchAddr string `env:"DISPATCH_ADDR" envDefault:"127.0.0.1:50054"`
	// ResponseInterval is how long the response opener (playbook tasks and
	// team alert of new incidents) waits when it finds nothing to do. The
	// overdue-task escalation scan waits the longer of this and 30s.
	ResponseInterval time.Duration `env:"RESPONSE_INTERVAL" envDefault:"500ms"`
	// RelayInterval is how long the assessment relay waits when it finds
	// nothing due (or the store fails) before looking again.
	RelayInterval time.Duration `env:"RELAY_INTERVAL" envDefault:"500ms"`
	// RelayLease is how long a replica holds a claimed incident; a replica
	// that dies delays that incident by at most this long.
	RelayLease time.Duration `env:"RELAY_LEASE" envDefault:"30s"`
	// CorrelationKeys are the attributes a new signal must share with an
	// open incident to attach to it: a comma list of asset, customer (any
	// overlap of customer ids) and type.
	CorrelationKeys string `env:"CORRELATION_KEYS" envDefault:"asset,type"`
	// CorrelationWindow is how far apart the new signal's observed_at and the
	// incident's last signal may be for it to attach; 0 turns correlation
	// off (every signal opens an incident).
	CorrelationWindow time.Duration `env:"CORRELATION_WINDOW" envDefault:"1h"`
}

// Correlation is the correlation the configuration asks for.
func (c Config) Correlation() (domain.Correlation, error) {
	keys, err := domain.ParseCorrelationKeys(c.CorrelationKeys)
	if err != nil {
		return domain.Correlation{}, fmt.Errorf("CORRELATION_KEYS: %w", err)
	}
	return domain.Correlation{Keys: keys, Window: c.CorrelationWindow}, nil
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if _, _, err := net.SplitHostPort(c.ClassificationAddr); err != nil {
		errs = append(errs, fmt.Errorf("CLASSIFICATION_ADDR must be host:port, not %q", c.ClassificationAddr))
	}
	if c.DispatchAddr != "" {
		if _, _, err := net.SplitHostPort(c.DispatchAddr); err != nil {
			errs = append(errs, fmt.Errorf("DISPATCH_ADDR must be host:port or empty, not %q", c.DispatchAddr))
		}
	}
	if c.ResponseInterval <= 0 {
		errs = append(errs, errors.New("RESPONSE_INTERVAL must be positive"))
	}
	if c.RelayInterval <= 0 {
		errs = append(errs, errors.New("RELAY_INTERVAL must be positive"))
	}
	if c.RelayLease < time.Second {
		errs = append(errs, errors.New("RELAY_LEASE must be at least 1s"))
	}
	if _, err := c.Correlation(); err != nil {
		errs = append(errs, err)
	}
	if c.CorrelationWindow < 0 {
		errs = append(errs, errors.New("CORRELATION_WINDOW must not be negative"))
	}
	return errors.Join(errs...)
}

func main() { app.Main("intake", run) }

func run(ctx context.Context) (err error) {
	cfg := Config{Common: config.Common{
		ListenAddr:    "127.0.0.1:50051",
		MongoDatabase: "breachline_intake",
	}}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	indexes := store.Indexes()
	maps.Copy(indexes, store.IndividualsIndexes())
	maps.Copy(indexes, store.ResponseIndexes())
	team, err := domain.SeedTeam()
	if err != nil {
		return err
	}
	rt, err := app.Start(ctx, "intake", cfg.Common, indexes, store.SeedTeamMigration(team))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Close(ctx)) }()
	st := store.New(rt.DB)

	conn, err := rt.Dial(cfg.ClassificationAddr)
	if err != nil {
		return err
	}
	defer conn.Close() //nolint:errcheck // closing a client conn at exit has nothing to report

	host, _ := os.Hostname()
	relay := domain.NewRelay(st, classify.New(conn), time.Now, rt.Logger, domain.RelayOptions{
		Owner: host + "/" + ids.New("relay"),
		Lease: cfg.RelayLease,
	})

	correlation, err := cfg.Correlation()
	if err != nil {
		return err
	}
	handler := server.New(domain.NewIntake(st, time.Now).WithCorrelation(correlation))

	playbooks, err := domain.LoadPlaybooks()
	if err != nil {
		return err
	}
	responseOpts := domain.ResponseOptions{Owner: host + "/" + ids.New("response"), Lease: cfg.RelayLease}
	if cfg.DispatchAddr != "" {
		dconn, err := rt.Dial(cfg.DispatchAddr)
		if err != nil {
			return err
		}
		defer dconn.Close() //nolint:errcheck // closing a client conn at exit has nothing to report
		responseOpts.Notifier = notify.NewDispatch(dconn)
	}
	response, err := domain.NewResponse(st, store.NewResponse(rt.DB), playbooks, time.Now, rt.Logger, responseOpts)
	if err != nil {
		return err
	}
	responseHandler := server.NewResponse(response)
	srv := grpcx.NewServer(grpcx.Options{
		Creds: rt.ServerTLS, HealthAddr: cfg.HealthAddr, RateLimit: rt.RateLimit, Service: "intake", Logger: rt.Logger, Authenticator: rt.Auth, ShutdownGrace: cfg.ShutdownGrace,
		Validator: server.Validators{handler, responseHandler}})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), handler)
	intakev1.RegisterResponseServiceServer(srv.GRPC(), responseHandler)
	intakev1.RegisterAffectedIndividualsServiceServer(srv.GRPC(), server.NewIndividuals(
		domain.NewIndividuals(store.NewIndividuals(rt.DB), time.Now, rt.Logger, domain.ImportOptions{})))

	return rt.Serve(ctx, srv, cfg.ListenAddr,
		app.Worker{Name: "assessment-relay", Idle: cfg.RelayInterval, Step: relay.Step},
		app.Worker{Name: "response-opener", Idle: cfg.ResponseInterval, Step: response.OpenStep},
		app.Worker{Name: "response-escalation", Idle: max(cfg.ResponseInterval, 30*time.Second), Step: response.EscalateStep})
}
