package server_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/breachline/breachline/gateway/internal/server"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// jsonSeeds are bodies on both sides of the input checks; the corpus in
// testdata/fuzz adds more.
var jsonSeeds = []string{
	`{"signal":{"source":"splunk","sourceEventId":"e1","title":"t","observedAt":"2026-01-01T00:00:00Z","raw":{"$where":"1","a.b":[1,{"c":null}]}}}`,
	`{"signal":{"customerIds":{"$gt":""}}}`,
	`{"campaign":{"content":{"what_happened":"x","$where":"sleep(1000)"}}}`,
	`{"campaign":{"content":{"a.b":"x"}}}`,
	`{"updateMask":"content.what_happened","campaign":{"content":{"what_happened":"y"}}}`,
	strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70),
	"{\"title\":\"\xff\xfe\"}",
	`{"pageSize":"ten"}`,
	`{"pageSize":1e400}`,
	``,
	`null`,
}

// depth returns how deeply v nests (a scalar is 0).
func depth(v *structpb.Value) int {
	d := 0
	switch k := v.GetKind().(type) {
	case *structpb.Value_StructValue:
		for _, f := range k.StructValue.GetFields() {
			d = max(d, depth(f))
		}
		return d + 1
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzJSONBody drives the JSON body → proto path of every grpc-gateway
// route: the gateway's pre-decoder check (server.CheckJSON), then the
// gateway's marshaler into a message with a map (dispatch's campaign
// content) and one with a free-form Struct (a signal's raw payload). It
// must never panic; invalid UTF-8 must never pass the check; and whatever
// passes the check and decodes has no operator or path keys where the
// stores could see them, and nests no deeper than server.MaxJSONDepth.
func FuzzJSONBody(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	m := server.Marshaler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkErr := server.CheckJSON(body)
		if !utf8.Valid(body) && checkErr == nil {
			t.Fatalf("CheckJSON accepted invalid UTF-8 %q", body)
		}
		var campaign dispatchv1.UpdateCampaignRequest
		campaignErr := m.NewDecoder(bytes.NewReader(body)).Decode(&campaign)
		var signal intakev1.ReportSignalRequest
		signalErr := m.NewDecoder(bytes.NewReader(body)).Decode(&signal)
		if checkErr != nil {
			return
		}
		if campaignErr == nil {
			for k := range campaign.GetCampaign().GetContent() {
				if strings.HasPrefix(k, "$") || strings.Contains(k, ".") {
					t.Fatalf("content key %q passed the check", k)
				}
			}
		}
		if signalErr == nil && signal.GetSignal().GetRaw() != nil {
			// body → signal → raw: the raw Struct starts three levels down.
			if d := depth(structpb.NewStructValue(signal.GetSignal().GetRaw())); d+2 > server.MaxJSONDepth {
				t.Fatalf("raw payload nests %d levels (+2) and passed the check", d)
			}
		}
	})
}

// siemBackend records the payload IngestSiemPayload receives.
type siemBackend struct {
	intakev1.UnimplementedIntakeServiceServer
	mu      sync.Mutex
	payload []byte
}

func (b *siemBackend) IngestSiemPayload(_ context.Context, r *intakev1.IngestSiemPayloadRequest) (*intakev1.IngestSiemPayloadResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.payload = r.GetPayload()
	return &intakev1.IngestSiemPayloadResponse{}, nil
}

func (b *siemBackend) take() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.payload
	b.payload = nil
	return p
}

// FuzzRawBody posts arbitrary bytes to the SIEM webhook route of the real
// gateway handler: whatever fits the body limit must reach intake
// byte for byte (JSON or not, valid UTF-8 or not, "$" keys or not), since
// intake quarantines what it cannot map and the record keeps it verbatim.
func FuzzRawBody(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("not json at all"))
	f.Add([]byte{0, 1, 2, 0xff})
	backend := &siemBackend{}
	srv := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(srv, backend)
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	f.Cleanup(srv.Stop)
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = conn.Close() })
	h, err := server.New(context.Background(), server.Backends{Intake: conn, Classification: conn, Registry: conn, Dispatch: conn},
		server.Options{MaxBodyBytes: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost,
			"/v1/siem/splunk-prod:ingest?format=SIEM_FORMAT_SPLUNK_WEBHOOK", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := backend.take()
		switch {
		case len(body) > 64<<10:
			if rec.Code != http.StatusRequestEntityTooLarge || got != nil {
				t.Fatalf("%d-byte body: %d, backend saw %d bytes; want 413 and nothing sent", len(body), rec.Code, len(got))
			}
		case rec.Code != http.StatusOK || !bytes.Equal(got, body):
			t.Fatalf("body %q: %d %s; backend saw %q", body, rec.Code, rec.Body, got)
		}
	})
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) }
	for _, tc := range []struct {
		name, body, wantField string
		ok                    bool
	}{
		{"plain", `{"signal":{"title":"x","customerIds":["cus_1"]}}`, "", true},
		{"operator-in-scalar-place", `{"signal":{"customerIds":{"$gt":""}}}`, "signal.customerIds", false},
		{"top-level-operator", `{"$where":"1"}`, "$where", false},
		{"dotted-map-key", `{"campaign":{"content":{"a.b":"x"}}}`, "campaign.content", false},
		{"operator-in-array", `{"signal":{"customerIds":[{"$ne":null}]}}`, "signal.customerIds[0]", false},
		{"raw-payload-is-opaque", `{"signal":{"raw":{"$where":"1","a.b":{"$gt":2}}}}`, "", true},
		{"depth-limit", `{"x":` + deep(server.MaxJSONDepth-1) + `}`, "", true},
		{"too-deep", `{"x":` + deep(server.MaxJSONDepth) + `}`, "x" + strings.Repeat(".a", server.MaxJSONDepth-1), false},
		{"too-deep-raw", `{"signal":{"raw":` + deep(server.MaxJSONDepth) + `}}`, "signal.raw" + strings.Repeat(".a", server.MaxJSONDepth-2), false},
		{"invalid-utf8", "{\"title\":\"\xc3\x28\"}", "", false},
		{"syntax-errors-are-protojson's", `{"title":`, "", true},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			err := server.CheckJSON([]byte(tc.body))
			if tc.ok != (err == nil) {
				t.Fatalf("CheckJSON(%.80s) = %v; want ok=%v", tc.body, err, tc.ok)
			}
			if err != nil && tc.wantField != "" && !strings.HasPrefix(err.Error(), tc.wantField+":") {
				t.Fatalf("CheckJSON(%.80s) = %v; want the field %q named", tc.body, err, tc.wantField)
			}
		})
	}
}
