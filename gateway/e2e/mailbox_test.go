package e2e_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/textproto"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps
// the headers of every message it accepted. dispatch derives each message's
// Message-ID from what it delivers (campaign, version, recipient), so a
// Message-ID accepted twice is a notice sent twice.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []textproto.MIMEHeader
}

func startMailbox(t testing.TB) *mailbox {
	t.Helper()
	m := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = quietLog{} // a killed client's reset connection is expected
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = lis.Addr().String()
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

// byMessageID counts the accepted messages per Message-ID whose subject
// satisfies keep.
func (m *mailbox) byMessageID(keep func(subject string) bool) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, h := range m.msgs {
		if keep(h.Get("Subject")) {
			out[h.Get("Message-Id")]++
		}
	}
	return out
}

type mailSession struct{ m *mailbox }

func (*mailSession) AuthPlain(string, string) error       { return nil }
func (*mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*mailSession) Reset()                               {}
func (*mailSession) Logout() error                        { return nil }
func (x *mailSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	x.m.mu.Lock()
	x.m.msgs = append(x.m.msgs, h)
	x.m.mu.Unlock()
	return nil
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// headers returns a copy of every accepted message's header.
func (m *mailbox) headers() []textproto.MIMEHeader {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]textproto.MIMEHeader(nil), m.msgs...)
}
