// Command devstack is `make run`: it starts the embedded store, the four
// services and the gateway as separate processes on loopback, waits until
// each is healthy, prints the endpoints, and on Ctrl-C stops them in reverse
// order (gateway first, store last) so no acknowledged write is cut off.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type config struct {
	BinDir             string `env:"BIN_DIR" envDefault:"bin"`
	DataDir            string `env:"DATA_DIR" envDefault:".data"`
	StoreAddr          string `env:"DEVSTORE_ADDR" envDefault:"127.0.0.1:27018"`
	IntakeAddr         string `env:"INTAKE_ADDR" envDefault:"127.0.0.1:50051"`
	ClassificationAddr string `env:"CLASSIFICATION_ADDR" envDefault:"127.0.0.1:50052"`
	RegistryAddr       string `env:"REGISTRY_ADDR" envDefault:"127.0.0.1:50053"`
	DispatchAddr       string `env:"DISPATCH_ADDR" envDefault:"127.0.0.1:50054"`
	GatewayAddr        string `env:"GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`
}

// proc is one child process of the stack.
type proc struct {
	name  string
	cmd   *exec.Cmd
	ready func(context.Context) error
	done  chan struct{}
	err   error
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	if err := env.Parse(&cfg); err != nil {
		return err
	}
	mongoURI := "mongodb://" + cfg.StoreAddr + "/"
	common := []string{"MONGODB_URI=" + mongoURI, "LOG_FORMAT=text"}
	// Rule packs dropped into the data directory are loaded without a
	// restart (README, "Rule packs: new versions without a restart").
	classEnv := []string{"LISTEN_ADDR=" + cfg.ClassificationAddr, "DISPATCH_ADDR=" + cfg.DispatchAddr, "REGISTRY_ADDR=" + cfg.RegistryAddr}
	if os.Getenv("RULE_PACKS_DIR") == "" {
		dir := filepath.Join(cfg.DataDir, "rulepacks")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		classEnv = append(classEnv, "RULE_PACKS_DIR="+dir)
	}
	specs := []struct {
		name  string
		env   []string
		ready func(context.Context) error
	}{
		{"devstore", []string{"DEVSTORE_ADDR=" + cfg.StoreAddr, "DEVSTORE_DIR=" + filepath.Join(cfg.DataDir, "devstore")}, tcpReady(cfg.StoreAddr)},
		{"dispatch", append([]string{"LISTEN_ADDR=" + cfg.DispatchAddr, "INTAKE_ADDR=" + cfg.IntakeAddr,
			"OUTBOX_DIR=" + filepath.Join(cfg.DataDir, "outbox")}, common...), grpcReady(cfg.DispatchAddr)},
		{"registry", append([]string{"LISTEN_ADDR=" + cfg.RegistryAddr, "DISPATCH_ADDR=" + cfg.DispatchAddr, "INTAKE_ADDR=" + cfg.IntakeAddr}, common...), grpcReady(cfg.RegistryAddr)},
		{"classification", append(classEnv, common...), grpcReady(cfg.ClassificationAddr)},
		{"intake", append([]string{"LISTEN_ADDR=" + cfg.IntakeAddr, "CLASSIFICATION_ADDR=" + cfg.ClassificationAddr, "DISPATCH_ADDR=" + cfg.DispatchAddr}, common...), grpcReady(cfg.IntakeAddr)},
		{"gateway", []string{
			"HTTP_ADDR=" + cfg.GatewayAddr, "INTAKE_ADDR=" + cfg.IntakeAddr, "CLASSIFICATION_ADDR=" + cfg.ClassificationAddr,
			"REGISTRY_ADDR=" + cfg.RegistryAddr, "DISPATCH_ADDR=" + cfg.DispatchAddr, "LOG_FORMAT=text",
		}, httpReady("http://" + cfg.GatewayAddr + "/healthz")},
	}

	var started []*proc
	defer func() { stopAll(started) }()
	exited := make(chan *proc, len(specs))
	for _, s := range specs {
		p, err := start(ctx, cfg.BinDir, s.name, s.env, exited)
		if err != nil {
			return err
		}
		p.ready = s.ready
		started = append(started, p)
		readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = waitReady(readyCtx, p)
		cancel()
		if err != nil {
			return fmt.Errorf("%s did not become ready: %w", s.name, err)
		}
	}

	_, _ = fmt.Fprintf(os.Stdout, `
Breachline is running (development mode: no authentication, loopback only).

  REST gateway     http://%s        (OpenAPI: http://%s/openapi.json, health: http://%s/healthz)
  intake         grpc://%s
  classification grpc://%s
  registry       grpc://%s
  dispatch       grpc://%s
  embedded store   %s   (data in %s)

Press Ctrl-C to stop.
`, cfg.GatewayAddr, cfg.GatewayAddr, cfg.GatewayAddr, cfg.IntakeAddr, cfg.ClassificationAddr, cfg.RegistryAddr, cfg.DispatchAddr, mongoURI, cfg.DataDir)

	select {
	case <-ctx.Done():
		_, _ = fmt.Fprintln(os.Stdout, "\nstopping...")
		return nil
	case p := <-exited:
		return fmt.Errorf("%s exited unexpectedly: %w", p.name, p.err)
	}
}

func start(ctx context.Context, binDir, name string, envs []string, exited chan<- *proc) (*proc, error) {
	path := filepath.Join(binDir, name)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w (run `make build` first)", path, err)
	}
	cmd := exec.Command(path) //nolint:gosec // path is our own build output
	cmd.Env = append(os.Environ(), envs...)
	// Own process group: Ctrl-C reaches only devstack, which stops the
	// children in order. Pdeathsig kills a child if devstack itself dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); prefix(name, stdout) }()
	go func() {
		wg.Wait()
		p.err = cmd.Wait()
		close(p.done)
		if ctx.Err() == nil {
			exited <- p
		}
	}()
	return p, nil
}

func prefix(name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		_, _ = fmt.Fprintf(os.Stdout, "%-14s | %s\n", name, sc.Text())
	}
}

func waitReady(ctx context.Context, p *proc) error {
	for {
		err := p.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %w", p.err)
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopAll stops the children in reverse start order: SIGTERM, then SIGKILL
// after 20 seconds.
func stopAll(procs []*proc) {
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func grpcReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health %v", resp.GetStatus())
		}
		return nil
	}
}

func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}
