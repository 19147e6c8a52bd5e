// Package e2e_test starts the real Breachline binaries — the embedded store,
// the four services and the gateway — as separate processes on loopback and
// drives them as a client would, over gRPC and REST.
package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/porttest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds every deployable once per test binary, exactly as
// `make build` does.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, buildErr = os.MkdirTemp("", "breachline-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"./services/intake/cmd/intake", "./services/classification/cmd/classification",
			"./services/registry/cmd/registry", "./services/dispatch/cmd/dispatch",
			"./gateway/cmd/gateway", "./pkg/cmd/devstore", "./pkg/cmd/devstack")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOWORK: %w", err)
	}
	gowork := strings.TrimSpace(string(out))
	if gowork == "" || gowork == "off" {
		return "", fmt.Errorf("tests must run inside the go.work workspace")
	}
	return filepath.Dir(gowork), nil
}

// freeAddrs returns n loopback addresses for binaries to bind (see
// porttest.FreeAddrs: below the ephemeral range, so no outgoing connection
// takes one in the gap before the binary binds it).
func freeAddrs(t testing.TB, n int) []string { return porttest.FreeAddrs(t, n) }

// process is one running binary whose output is kept for failure reports.
type process struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor blocks until a line of output contains s.
func (p *process) waitFor(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if strings.Contains(p.output(), s) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before printing %q:\n%s", p.name, s, p.output())
		case <-tick.C:
		}
	}
	t.Fatalf("%s did not print %q within %v:\n%s", p.name, s, timeout, p.output())
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
}

func startProcess(t testing.TB, name string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), name))
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pipe)
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.output())
		}
	})
	return p
}

// stack is a set of addresses for one isolated Breachline deployment.
type stack struct {
	store, intake, classification, registry, dispatch, gateway string
	data                                                       string
	// env is added to every service's and the gateway's environment
	// (e.g. AUTH_MODE=oidc and its settings).
	env []string
	// envAt is added to the environment of the service listening on the
	// address (e.g. its own SERVICE_TOKEN), after env.
	envAt map[string][]string
}

func newStack(t testing.TB) stack {
	// Build first: ports chosen before a minute-long build could be taken
	// by then.
	binaries(t)
	a := freeAddrs(t, 6)
	return stack{
		store: a[0], intake: a[1], classification: a[2], registry: a[3], dispatch: a[4], gateway: a[5],
		data: t.TempDir(),
	}
}

func (s stack) mongoURI() string { return "mongodb://" + s.store + "/" }

func (s stack) serviceEnv(listen string, extra ...string) []string {
	env := append([]string{"LISTEN_ADDR=" + listen, "MONGODB_URI=" + s.mongoURI(), "LOG_FORMAT=text",
		"RELAY_INTERVAL=100ms"}, s.env...)
	env = append(env, s.envAt[listen]...)
	return append(env, extra...)
}

func (s stack) startStore(t testing.TB) *process {
	p := startProcess(t, "devstore", "DEVSTORE_ADDR="+s.store, "DEVSTORE_DIR="+filepath.Join(s.data, "devstore"))
	p.waitFor(t, "listening", 60*time.Second)
	return p
}

func (s stack) startIntake(t testing.TB) *process {
	p := startProcess(t, "intake", s.serviceEnv(s.intake, "CLASSIFICATION_ADDR="+s.classification, "DISPATCH_ADDR="+s.dispatch)...)
	p.waitFor(t, "listening", 30*time.Second)
	return p
}

func (s stack) startClassification(t testing.TB) *process {
	p := startProcess(t, "classification", s.serviceEnv(s.classification, "DISPATCH_ADDR="+s.dispatch, "REGISTRY_ADDR="+s.registry)...)
	p.waitFor(t, "listening", 30*time.Second)
	return p
}

func (s stack) startRegistry(t testing.TB) *process {
	p := startProcess(t, "registry", s.serviceEnv(s.registry, "DISPATCH_ADDR="+s.dispatch, "INTAKE_ADDR="+s.intake)...)
	p.waitFor(t, "listening", 30*time.Second)
	return p
}

func (s stack) startDispatch(t testing.TB) *process {
	p := startProcess(t, "dispatch", s.serviceEnv(s.dispatch, "INTAKE_ADDR="+s.intake, "OUTBOX_DIR="+filepath.Join(s.data, "outbox"))...)
	p.waitFor(t, "listening", 30*time.Second)
	return p
}

func (s stack) startGateway(t testing.TB) *process {
	// The tests drive many calls as one subject; a test of the limit itself
	// sets RATE_LIMIT_RPS in s.env (later entries win).
	p := startProcess(t, "gateway", append([]string{"RATE_LIMIT_RPS=100000", "HTTP_ADDR=" + s.gateway, "INTAKE_ADDR=" + s.intake,
		"CLASSIFICATION_ADDR=" + s.classification, "REGISTRY_ADDR=" + s.registry, "DISPATCH_ADDR=" + s.dispatch, "LOG_FORMAT=text"},
		s.env...)...)
	p.waitFor(t, "listening", 30*time.Second)
	return p
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// eventually retries f until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = f(ctx)
		cancel()
		if err == nil {
			return
		}
		<-tick.C
	}
	t.Fatalf("condition not met within %v: %v", timeout, err)
}
