package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

// gatewayBenchCalls is how many GetCustomer calls each path makes in the
// measured run (after as many again to warm connections and caches).
const gatewayBenchCalls = 2000

// BenchmarkGatewayOverhead measures what the REST gateway adds to one read
// RPC. The real registry and gateway binaries run on loopback over the
// embedded store; GetCustomer is called alternately straight over gRPC and
// as GET /v1/customers/{id} through the gateway (keep-alive HTTP/1.1, the
// gateway's full middleware chain: request id, logging, security headers,
// rate limit, body checks, deadline), so both see the same store and load.
// It prints both p50 latencies and their ratio (target <= 1.5).
func BenchmarkGatewayOverhead(b *testing.B) {
	s := newStack(b)
	s.startStore(b)
	s.startRegistry(b)
	s.startGateway(b)
	ctx := b.Context()
	client := registryv1.NewCustomerServiceClient(dial(b, s.registry))
	const id = "bench-customer"
	if _, err := client.CreateCustomer(ctx, &registryv1.CreateCustomerRequest{RequestId: "bench-1", Customer: &registryv1.Customer{
		CustomerId: id, DisplayName: "Bench Customer", Region: registryv1.Region_REGION_US,
		NotificationEmail: "dpo@bench.example", Products: []string{"hosting"},
	}}); err != nil {
		b.Fatal(err)
	}
	url := "http://" + s.gateway + "/v1/customers/" + id
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	viaGRPC := func(ctx context.Context) error {
		_, err := client.GetCustomer(ctx, &registryv1.GetCustomerRequest{CustomerId: id})
		return err
	}
	viaREST := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
		return nil
	}
	timed := func(f func(context.Context) error) time.Duration {
		start := time.Now()
		if err := f(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}

	b.ResetTimer()
	for range 1 { // one measured run whatever b.N is: the figures are the output
		for range gatewayBenchCalls {
			timed(viaGRPC)
			timed(viaREST)
		}
		grpcTimes := make([]time.Duration, 0, gatewayBenchCalls)
		restTimes := make([]time.Duration, 0, gatewayBenchCalls)
		for range gatewayBenchCalls {
			grpcTimes = append(grpcTimes, timed(viaGRPC))
			restTimes = append(restTimes, timed(viaREST))
		}
		grpcP50, restP50 := p50(grpcTimes), p50(restTimes)
		ratio := float64(restP50) / float64(grpcP50)
		fmt.Fprintf(os.Stdout, "bench: gateway.grpc_p50 %.1f us\n", float64(grpcP50)/float64(time.Microsecond))
		fmt.Fprintf(os.Stdout, "bench: gateway.rest_p50 %.1f us\n", float64(restP50)/float64(time.Microsecond))
		fmt.Fprintf(os.Stdout, "bench: gateway.rest_grpc_p50_ratio %.2f x\n", ratio)
		b.ReportMetric(ratio, "rest/grpc-p50")
	}
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
