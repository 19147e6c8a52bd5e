// Command dispatch serves DispatchService: it drafts notice campaigns from
// classification's obligations, takes approvals and holds, and delivers
// approved notices through the outbox engine.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/breachline/breachline/pkg/app"
	"github.com/breachline/breachline/pkg/config"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/peers"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

const service = "dispatch"

// Config is dispatch's configuration, from the environment.
type Config struct {
	config.Common
	// SMTPAddr is the SMTP relay (host:port). Empty writes every e-mail as
	// an .eml file under OutboxDir instead (development).
	SMTPAddr     string `env:"SMTP_ADDR"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD"`
	SMTPFrom     string `env:"SMTP_FROM" envDefault:"breach-notices@example.org"`
	OutboxDir    string `env:"OUTBOX_DIR" envDefault:".data/outbox"`
	// WebhookSecret signs webhook notices (HMAC-SHA256) to endpoints
	// WebhookEndpoints does not list; webhook campaigns fail permanently
	// without a secret.
	WebhookSecret string `env:"WEBHOOK_SECRET"`
	// WebhookEndpoints names a YAML file of per-endpoint secret references
	// (see channel.Endpoints); empty signs everything with WebhookSecret.
	WebhookEndpoints string `env:"WEBHOOK_ENDPOINTS"`
	// WebsiteDir, when set, is where notice pages of WEBSITE campaigns are
	// published (the web server's directory); they are always artefacts.
	WebsiteDir string `env:"WEBSITE_DIR"`
	// Substitute-notice defaults for jurisdictions the data file has no
	// thresholds for, and the estimated cost of one letter (0 = the data
	// file's value).
	SubstituteCostUSD float64 `env:"SUBSTITUTE_COST_USD" envDefault:"0"`
	SubstitutePersons int64   `env:"SUBSTITUTE_PERSONS" envDefault:"0"`
	LetterCostUSD     float64 `env:"LETTER_COST_USD" envDefault:"0"`
	// Outbox engine tuning (see domain.EngineConfig).
	OutboxWorkers    int           `env:"OUTBOX_WORKERS" envDefault:"16"`
	OutboxFlushEvery int           `env:"OUTBOX_FLUSH_EVERY" envDefault:"50"`
	OutboxLease      time.Duration `env:"OUTBOX_LEASE" envDefault:"30s"`
	// NoticeLease is how long a replica holds a claimed operational notice;
	// a replica that dies mid-delivery delays the notice by at most this.
	NoticeLease     time.Duration `env:"NOTICE_LEASE" envDefault:"1m"`
	EmailRatePerSec float64       `env:"EMAIL_RATE_PER_SEC" envDefault:"0"`
	// IntakeAddr is intake's gRPC address: affected individuals come from
	// it and timeline entries go to it.
	IntakeAddr string `env:"INTAKE_ADDR" envDefault:"127.0.0.1:50051"`
	// EscalationWindow: alert the response team when an unsent campaign's
	// deadline is this close.
	EscalationWindow time.Duration `env:"ESCALATION_WINDOW" envDefault:"24h"`
	// RelayInterval is the timeline relay's idle wait.
	RelayInterval time.Duration `env:"RELAY_INTERVAL" envDefault:"2s"`
	// The organisation named in notices.
	OrgName    string `env:"ORG_NAME" envDefault:"Breachline Example Org"`
	OrgPhone   string `env:"ORG_PHONE" envDefault:"1-800-555-0100"`
	OrgEmail   string `env:"ORG_EMAIL" envDefault:"privacy@example.org"`
	OrgWebsite string `env:"ORG_WEBSITE" envDefault:"https://example.org"`
}

// Validate checks the outbox settings beside the common ones.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Common.Validate())
	if c.NoticeLease < time.Second {
		errs = append(errs, errors.New("NOTICE_LEASE must be at least 1s"))
	}
	if c.OutboxWorkers < 1 || c.OutboxFlushEvery < 1 || c.OutboxLease < time.Second {
		errs = append(errs, errors.New("OUTBOX_WORKERS and OUTBOX_FLUSH_EVERY must be positive and OUTBOX_LEASE at least 1s"))
	}
	if c.SubstituteCostUSD < 0 || c.SubstitutePersons < 0 || c.LetterCostUSD < 0 {
		errs = append(errs, errors.New("SUBSTITUTE_COST_USD, SUBSTITUTE_PERSONS and LETTER_COST_USD must not be negative"))
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		errs = append(errs, errors.New("set both SMTP_USERNAME and SMTP_PASSWORD or neither"))
	}
	return errors.Join(errs...)
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
	rt, err := app.Start(ctx, service, cfg.Common, store.Indexes(), store.SendingSetMigration(), store.NoticeQueueMigration())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Close(ctx)) }()

	intakeConn, err := rt.Dial(cfg.IntakeAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, intakeConn.Close()) }()
	intake := peers.NewIntake(intakeConn)
	svc := domain.NewService(store.New(rt.DB), time.Now).
		WithOrg(domain.OrgData{Name: cfg.OrgName, Phone: cfg.OrgPhone, Email: cfg.OrgEmail, Website: cfg.OrgWebsite}).
		WithPeers(intake, intake).
		WithPrinter(channel.PDF{}).
		WithSubstituteDefaults(cfg.SubstituteCostUSD, cfg.SubstitutePersons, cfg.LetterCostUSD)
	if cfg.WebsiteDir != "" {
		svc.WithWebsite(channel.WebsiteDir{Dir: cfg.WebsiteDir})
	}
	var endpoints *channel.Endpoints
	if cfg.WebhookEndpoints != "" {
		b, err := os.ReadFile(cfg.WebhookEndpoints)
		if err != nil {
			return fmt.Errorf("WEBHOOK_ENDPOINTS: %w", err)
		}
		if endpoints, err = channel.ParseEndpoints(b, os.LookupEnv); err != nil {
			return err
		}
	}
	var email domain.Transport = channel.FileSink{Dir: cfg.OutboxDir, From: cfg.SMTPFrom}
	if cfg.SMTPAddr != "" {
		email = channel.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	}
	// Letters, regulator packets and website notices are composed into
	// artefacts by the engine; a media release goes to each outlet by e-mail.
	transports := map[domain.Channel]domain.Transport{
		domain.ChannelEmail:        email,
		domain.ChannelMediaRelease: email,
		domain.ChannelWebhook:      channel.Webhook{Secret: []byte(cfg.WebhookSecret), Endpoints: endpoints},
	}
	engine := domain.NewEngine(svc, domain.EngineConfig{
		Owner:      ids.New("wrk"),
		Workers:    cfg.OutboxWorkers,
		FlushEvery: cfg.OutboxFlushEvery,
		Lease:      cfg.OutboxLease,
		RatePerSec: map[domain.Channel]float64{domain.ChannelEmail: cfg.EmailRatePerSec},
	}, transports, rt.Logger)
	rt.Logger.InfoContext(ctx, "outbox ready", "workers", cfg.OutboxWorkers, "smtp", cfg.SMTPAddr != "", "in_flight_bound", engine.InFlightBound())
	notices := domain.NewNotices(store.New(rt.DB), email, time.Now).WithLease(cfg.NoticeLease)
	handler := server.New(svc).WithNotices(notices)
	srv := grpcx.NewServer(grpcx.Options{
		Creds: rt.ServerTLS, HealthAddr: cfg.HealthAddr, RateLimit: rt.RateLimit,
		Service:       service,
		Authenticator: rt.Auth,
		Logger:        rt.Logger,
		ShutdownGrace: cfg.ShutdownGrace,
		Validator:     handler,
	})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	outbox := app.Worker{Name: "outbox", Idle: time.Second, Step: func(ctx context.Context) (bool, error) {
		engine.Run(ctx) // returns when ctx is done
		return false, nil
	}}
	timeline := app.Worker{Name: "timeline-relay", Idle: cfg.RelayInterval, Step: svc.RelayTimeline(ids.New("wrk"))}
	escalation := app.Worker{Name: "deadline-escalation", Idle: time.Minute, Step: domain.NewEscalator(svc, transports, cfg.EscalationWindow).Step}
	noticeWorker := app.Worker{Name: "notices", Idle: cfg.RelayInterval, Step: notices.Step(ids.New("wrk"))}
	fallbacks := app.Worker{Name: "fallback-letters", Idle: cfg.RelayInterval, Step: svc.FallbackStep}
	return rt.Serve(ctx, srv, cfg.ListenAddr, outbox, timeline, escalation, noticeWorker, fallbacks)
}
