package channel_test

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// verify checks a request's signature the way a receiver would: recompute
// the HMAC over "<t>.<body>" and reject timestamps older than five minutes.
func verify(secret []byte, r *http.Request, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(r.Header.Get(channel.SignatureHeader), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)) > 5*time.Minute {
		return false
	}
	want := channel.Sign(secret, body, time.Unix(sec, 0))
	return hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig))
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	var mu sync.Mutex
	var got []channel.WebhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/flaky":
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/gone":
			w.WriteHeader(http.StatusGone)
		case !verify(secret, r, body):
			w.WriteHeader(http.StatusUnauthorized)
		default:
			var p channel.WebhookPayload
			_ = json.Unmarshal(body, &p)
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	msg := domain.Message{CampaignID: "cmp_1", Version: 2, RecipientKey: "k1", Subject: "Notice", Body: "Text"}
	var perm *domain.PermanentError
	tests := []struct {
		name      string
		secret    []byte
		path      string
		permanent bool
		fails     bool
	}{
		{"signed_and_verified", secret, "/hook", false, false},
		{"wrong_secret_is_rejected_permanently", []byte("other"), "/hook", true, true},
		{"5xx_is_retried", secret, "/flaky", false, true},
		{"4xx_is_permanent", secret, "/gone", true, true},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := channel.Webhook{Secret: tt.secret, Client: srv.Client()}.Open(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			m := msg
			m.To = srv.URL + tt.path
			err = s.Send(t.Context(), m)
			if (err != nil) != tt.fails || errors.As(err, &perm) != tt.permanent {
				t.Fatalf("Send = %v; want failure %v, permanent %v", err, tt.fails, tt.permanent)
			}
		})
	}
	t.Run("case=no_secret_refuses", func(t *testing.T) {
		t.Parallel()
		if _, err := (channel.Webhook{}).Open(t.Context()); !errors.As(err, &perm) {
			t.Fatalf("Open without secret = %v, want permanent error", err)
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || got[0].CampaignID != "cmp_1" || got[0].Version != 2 {
			t.Errorf("receiver got %+v, want the one signed notice", got)
		}
	})
}
