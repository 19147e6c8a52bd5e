// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback
// that counts, per recipient, the messages it accepted. Tests and
// benchmarks deliver to it and then check every recipient got the notice
// and how many got it twice.
package smtptest

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Server is a counting SMTP server.
type Server struct {
	srv   *smtp.Server
	addr  string
	total atomic.Int64

	mu     sync.Mutex
	counts map[string]int
	// Reject makes RCPT TO fail permanently (550) for these addresses.
	reject map[string]bool
	// defer makes RCPT TO fail transiently (451) this many more times.
	deferrals map[string]int
	// first and last are when the first and the latest message were
	// accepted.
	first, last time.Time
	// queueIDs makes the reply to DATA name a queue id, as Postfix does.
	queueIDs atomic.Bool
	queued   atomic.Int64
}

// QueueIDs makes the server answer each accepted DATA with
// "250 2.0.0 Ok: queued as Q<n>", as Postfix and most relays do.
func (s *Server) QueueIDs() { s.queueIDs.Store(true) }

// Start serves on 127.0.0.1:0 until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{counts: map[string]int{}, reject: map[string]bool{}, deferrals: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = quiet{} // a killed client's reset connection is expected
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = lis.Addr().String()
	go func() { _ = s.srv.Serve(lis) }()
	tb.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// Reject makes deliveries to address fail with 550.
func (s *Server) Reject(address string) {
	s.mu.Lock()
	s.reject[address] = true
	s.mu.Unlock()
}

// Defer makes the next n deliveries to address fail with a transient 451,
// as a greylisting or overloaded server does; the one after is accepted.
func (s *Server) Defer(address string, n int) {
	s.mu.Lock()
	s.deferrals[address] = n
	s.mu.Unlock()
}

// Span returns when the first and the latest message were accepted (zero
// before any was).
func (s *Server) Span() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

// Total is the number of messages accepted.
func (s *Server) Total() int64 { return s.total.Load() }

// Counts returns a copy of the per-recipient counts.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

type session struct {
	s  *Server
	to []string
}

func (*session) AuthPlain(string, string) error       { return nil }
func (*session) Mail(string, *smtp.MailOptions) error { return nil }
func (x *session) Reset()                             { x.to = x.to[:0] }
func (*session) Logout() error                        { return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	bad := x.s.reject[to]
	later := x.s.deferrals[to] > 0
	if later {
		x.s.deferrals[to]--
	}
	x.s.mu.Unlock()
	if bad {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if later {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again later"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	now := time.Now()
	x.s.mu.Lock()
	for _, to := range x.to {
		x.s.counts[to]++
	}
	if x.s.first.IsZero() {
		x.s.first = now
	}
	x.s.last = now
	x.s.mu.Unlock()
	x.s.total.Add(int64(len(x.to)))
	if x.s.queueIDs.Load() {
		// go-smtp writes an SMTPError's code as given: a 250 "error" is the
		// only way to choose the success text.
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("Ok: queued as Q%d", x.s.queued.Add(1))}
	}
	return nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}
