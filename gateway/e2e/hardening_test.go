package e2e_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// restCall sends body verbatim (nil: no body) and returns the status and
// the raw answer.
func restCall(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// listIDs returns the ids of every incident and customer, in order.
func listIDs(t *testing.T, base string) []string {
	t.Helper()
	var ids []string
	for _, l := range []struct{ path, list, id string }{
		{"/v1/incidents?pageSize=500", "incidents", "incidentId"},
		{"/v1/customers?pageSize=500", "customers", "customerId"},
	} {
		code, body := httpDo(t, http.MethodGet, base+l.path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", l.path, code, body)
		}
		items, _ := body[l.list].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			ids = append(ids, l.list+"/"+m[l.id].(string))
		}
	}
	return ids
}

// TestInputHardening sends the real gateway and services hostile bodies
// and queries: NoSQL operator and path keys, deep nesting, invalid UTF-8,
// wrong types, unknown fields, oversized bodies. Each gets a 4xx with a
// message that says what is wrong, and the incidents and customers listed
// before and after are the same.
func TestInputHardening(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startStore(t)
	s.startRegistry(t)
	s.startIntake(t)
	s.startGateway(t)
	base := "http://" + s.gateway

	const signal = `"source":"splunk-prod","sourceEventId":"%s","title":"Exfiltration","severity":"SEVERITY_HIGH",` +
		`"type":"INCIDENT_TYPE_PERSONAL_INFORMATION_BREACH","observedAt":"2026-03-01T10:00:00Z","asset":"db-1"`
	sig := func(id, extra string) []byte {
		return []byte(`{"signal":{` + strings.Replace(signal, "%s", id, 1) + extra + `}}`)
	}
	const customer = `"displayName":"Acme","region":"REGION_EU_EEA_CH","notificationEmail":"dpo@acme.example"`

	// What exists before: one customer, and one incident from a signal whose
	// raw SIEM payload has operator and dotted keys. Those are accepted: intake
	// keeps the raw payload as JSON text, never as document keys.
	if code, body := restCall(t, http.MethodPost, base+"/v1/customers", []byte(`{"customerId":"acme",`+customer+`}`)); code != http.StatusOK {
		t.Fatalf("create customer: %d %s", code, body)
	}
	code, body := restCall(t, http.MethodPost, base+"/v1/signals", sig("evt-ok", `,"raw":{"$where":"sleep(1)","result.count":{"$gt":1}}`))
	if code != http.StatusOK || !strings.Contains(body, "REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED") {
		t.Fatalf("signal with an opaque raw payload: %d %s; want 200 and a new incident", code, body)
	}
	before := listIDs(t, base)

	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		wantCode           int
		wantText           string
	}{
		{"operator-for-a-scalar", http.MethodPost, "/v1/signals", sig("evt-1", `,"customerIds":{"$gt":""}`),
			http.StatusBadRequest, `object key \"$gt\" is not allowed`},
		{"operator-at-top", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-1",` + customer + `,"$where":"1"}`),
			http.StatusBadRequest, `object key \"$where\" is not allowed`},
		{"operator-in-array", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-2",` + customer + `,"products":[{"$ne":null}]}`),
			http.StatusBadRequest, `products[0]`},
		{"dotted-key", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-3",` + customer + `,"region.code":"x"}`),
			http.StatusBadRequest, `object key \"region.code\" is not allowed`},
		{"too-deep", http.MethodPost, "/v1/signals", sig("evt-2", `,"raw":`+deep),
			http.StatusBadRequest, "nests deeper than 64 levels"},
		{"invalid-utf8", http.MethodPost, "/v1/customers", []byte("{\"customerId\":\"evil-4\",\"displayName\":\"Ac\xffme\",\"region\":\"REGION_EU_EEA_CH\",\"notificationEmail\":\"dpo@acme.example\"}"),
			http.StatusBadRequest, "not valid UTF-8"},
		{"wrong-type", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-5","displayName":5,"region":"REGION_EU_EEA_CH","notificationEmail":"dpo@acme.example"}`),
			http.StatusBadRequest, "displayName"},
		{"object-for-a-string", http.MethodPost, "/v1/customers", []byte(`{"customerId":{"id":"evil-6"},` + customer + `}`),
			http.StatusBadRequest, "customerId"},
		{"unknown-field", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-7",` + customer + `,"isAdmin":true}`),
			http.StatusBadRequest, "isAdmin"},
		{"not-json", http.MethodPost, "/v1/customers", []byte(`customerId=evil-8`),
			http.StatusBadRequest, "invalid"},
		{"oversized", http.MethodPost, "/v1/customers", []byte(`{"customerId":"evil-9","displayName":"` + strings.Repeat("A", 2<<20) + `"}`),
			http.StatusRequestEntityTooLarge, "request body exceeds 1048576 bytes"},
		{"operator-in-query", http.MethodGet, "/v1/incidents?customerId[$ne]=x", nil,
			http.StatusBadRequest, `field \"customer_id\" is not a map`},
		{"wrong-type-in-query", http.MethodGet, "/v1/customers?pageSize=ten", nil,
			http.StatusBadRequest, `parsing field \"page_size\"`},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			code, body := restCall(t, tc.method, base+tc.path, tc.body)
			if code != tc.wantCode || !strings.Contains(body, tc.wantText) || !strings.Contains(body, `"code":`) {
				t.Fatalf("%s %s = %d %.300s; want %d with %q in a gRPC-style error body", tc.method, tc.path, code, body, tc.wantCode, tc.wantText)
			}
		})
	}

	after := listIDs(t, base)
	if !slices.Equal(before, after) {
		t.Fatalf("rejected requests changed what exists:\nbefore %v\nafter  %v", before, after)
	}
}
