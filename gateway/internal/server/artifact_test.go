package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"

	"github.com/breachline/breachline/gateway/internal/server"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// artifactBackend serves one artefact, standing in for dispatch: the test
// is about how the gateway writes a bytes response body.
type artifactBackend struct {
	dispatchv1.UnimplementedDispatchServiceServer
}

var pdfBytes = []byte("%PDF-1.3\n\x00\x01binary\xff")

func (artifactBackend) GetArtifact(_ context.Context, r *dispatchv1.GetArtifactRequest) (*dispatchv1.GetArtifactResponse, error) {
	return &dispatchv1.GetArtifactResponse{
		Artifact: &dispatchv1.Artifact{Name: r.GetName(), CampaignId: r.GetCampaignId(), ContentType: "application/pdf"},
		Content:  pdfBytes,
	}, nil
}

func TestArtifactDownload(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	dispatchv1.RegisterDispatchServiceServer(srv, artifactBackend{})
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h, err := server.New(context.Background(), server.Backends{Intake: conn, Classification: conn, Registry: conn, Dispatch: conn}, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/v1/campaigns/cmp_1/artifacts/v1-letters-001.pdf", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || string(body) != string(pdfBytes) {
		t.Fatalf("GET artifact = %d %q %q; want 200 application/pdf with the file verbatim", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
