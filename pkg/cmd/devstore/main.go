// Command devstore runs the embedded MongoDB-compatible server (FerretDB over
// SQLite) as its own process for `make run`. It is a development store: a
// real MongoDB wire protocol for the services, data in plain files under
// DEVSTORE_DIR. Production uses a MongoDB replica set instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/caarlos0/env/v11"

	"github.com/breachline/breachline/pkg/devstore"
)

type config struct {
	Addr string `env:"DEVSTORE_ADDR" envDefault:"127.0.0.1:27018"`
	Dir  string `env:"DEVSTORE_DIR" envDefault:".data/devstore"`
}

func (c config) validate() error {
	host, _, ok := strings.Cut(c.Addr, ":")
	if !ok {
		return fmt.Errorf("DEVSTORE_ADDR %q must be host:port", c.Addr)
	}
	if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
		return errors.New("DEVSTORE_ADDR must be a loopback address: the development store has no authentication")
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	if err := env.Parse(&cfg); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	// FerretDB warns about every command it does not implement (e.g. the
	// driver's endSessions at disconnect), which is noise here; errors stay.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := devstore.Start(ctx, devstore.Options{Dir: cfg.Dir, Addr: cfg.Addr, Logger: logger})
	if err != nil {
		return err
	}
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("listening", "uri", srv.URI(), "dir", cfg.Dir)
	<-ctx.Done()
	srv.Close()
	return nil
}
