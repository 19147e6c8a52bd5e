package e2e_test

import (
	"bufio"
	"context"
	"io"
	"mime"
	"net"
	"net/textproto"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps
// the header and body of every message it accepted. dispatch derives each
// message's Message-ID from what it delivers (campaign, version,
// recipient), so a Message-ID accepted twice is a notice sent twice.
type mailbox struct {
	addr   string
	mu     sync.Mutex
	msgs   []textproto.MIMEHeader
	bodies []string // bodies[i] is the body of msgs[i]
}

// mail is one accepted message.
type mail struct {
	header textproto.MIMEHeader
	body   string
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
	body, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	x.m.mu.Lock()
	x.m.msgs = append(x.m.msgs, h)
	x.m.bodies = append(x.m.bodies, string(body))
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

// messages returns a copy of every accepted message.
func (m *mailbox) messages() []mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]mail, len(m.msgs))
	for i, h := range m.msgs {
		out[i] = mail{header: h, body: m.bodies[i]}
	}
	return out
}

// subject is the message's Subject, decoded.
func (m mail) subject() string { return decodeSubject(m.header.Get("Subject")) }

// decodeSubject decodes a Subject header (dispatch Q-encodes it).
func decodeSubject(raw string) string {
	if s, err := new(mime.WordDecoder).DecodeHeader(raw); err == nil {
		return s
	}
	return raw
}
