// Package channel holds the delivery transports of the outbox: e-mail over
// SMTP (persistent sessions, one message transaction after another on each)
// and a file sink that writes .eml files for development.
package channel

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// SMTP delivers e-mail to one SMTP server (a relay or smarthost). Each
// outbox worker holds one session open and sends its messages over it, so
// a campaign costs one TCP and SMTP handshake per worker, not per message.
type SMTP struct {
	// Addr is host:port.
	Addr string
	// From is the envelope sender and From header.
	From string
	// Username and Password enable AUTH PLAIN when set.
	Username, Password string
	// Timeout bounds each command.
	Timeout time.Duration
}

var _ domain.Transport = SMTP{}

// Open implements domain.Transport.
func (s SMTP) Open(ctx context.Context) (domain.Session, error) {
	d := net.Dialer{Timeout: s.timeout()}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial smtp: %w", err)
	}
	var c *smtp.Client
	if s.Username != "" {
		// Credentials travel only inside TLS.
		host, _, _ := net.SplitHostPort(s.Addr)
		if c, err = smtp.NewClientStartTLS(conn, tlsConfig{host: host}.config()); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("smtp starttls: %w", err)
		}
	} else {
		c = smtp.NewClient(conn)
		if err := c.Hello("breachline.local"); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("smtp hello: %w", err)
		}
	}
	c.CommandTimeout = s.timeout()
	c.SubmissionTimeout = s.timeout()
	if s.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			_ = c.Close()
			return nil, classify(fmt.Errorf("smtp auth: %w", err))
		}
	}
	return &smtpSession{c: c, from: s.From}, nil
}

func (s SMTP) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 30 * time.Second
}

type smtpSession struct {
	c       *smtp.Client
	from    string
	buf     []byte
	receipt string
}

var _ domain.Receipter = (*smtpSession)(nil)

// Receipt implements domain.Receipter: the queue id from the server's
// reply to the last DATA ("250 2.0.0 Ok: queued as 4B9F21C0A"), if any.
func (s *smtpSession) Receipt() string { return s.receipt }

// QueueID extracts the queue id from a reply to DATA; Postfix, Exim,
// Sendmail, Amazon SES and most relays answer "... queued as <id>" or
// "... id=<id>".
func QueueID(reply string) string {
	for _, marker := range []string{"queued as ", "id="} {
		if _, after, ok := strings.Cut(reply, marker); ok {
			id, _, _ := strings.Cut(strings.TrimSpace(after), " ")
			if len(id) > 128 {
				id = id[:128]
			}
			return id
		}
	}
	return ""
}

// Send runs one MAIL/RCPT/DATA transaction. A 5xx reply is permanent.
func (s *smtpSession) Send(_ context.Context, m domain.Message) error {
	if err := s.c.Mail(s.from, nil); err != nil {
		return classify(err)
	}
	if err := s.c.Rcpt(m.To, nil); err != nil {
		_ = s.c.Reset()
		return classify(err)
	}
	w, err := s.c.Data()
	if err != nil {
		_ = s.c.Reset()
		return classify(err)
	}
	s.buf = AppendMessage(s.buf[:0], s.from, m)
	if _, err := w.Write(s.buf); err != nil {
		_ = w.Close()
		return classify(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return classify(err)
	}
	s.receipt = QueueID(resp.StatusText)
	return nil
}

func (s *smtpSession) Close() error {
	_ = s.c.Quit()
	return s.c.Close()
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &domain.PermanentError{Err: err}
	}
	return err
}

// AppendMessage appends an RFC 5322 message for m to b. The Message-ID is
// derived from (campaign, version, recipient), so a receiver can recognise
// the rare duplicate of a message that was in flight when a worker died.
func AppendMessage(b []byte, from string, m domain.Message) []byte {
	b = fmt.Appendf(b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n",
		from, m.To, mime.QEncoding.Encode("utf-8", m.Subject), domain.MessageID(m.CampaignID, m.Version, m.RecipientKey))
	b = append(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"...)
	for line := range strings.Lines(m.Body) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, ".") {
			line = "." + line
		}
		b = append(b, line...)
		b = append(b, "\r\n"...)
	}
	return b
}

// FileSink writes each message as <dir>/<campaign>/v<version>/<recipient key>.eml:
// the development stand-in for an SMTP server (`make run` without SMTP_ADDR).
type FileSink struct {
	Dir, From string
}

// Open implements domain.Transport.
func (f FileSink) Open(context.Context) (domain.Session, error) { return f, nil }

// Send implements domain.Session.
func (f FileSink) Send(_ context.Context, m domain.Message) error {
	dir := filepath.Join(f.Dir, m.CampaignID, fmt.Sprintf("v%d", m.Version))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, m.RecipientKey+".eml"), AppendMessage(nil, f.From, m), 0o600)
}

// Close implements domain.Session.
func (FileSink) Close() error { return nil }
