package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/breachline/breachline/pkg/apperr"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/classification/internal/registryclient"
)

// registry is a stand-in for the registry's CustomerService: the real gRPC
// stack on loopback, with customers from a map.
type registry struct {
	registryv1.UnimplementedCustomerServiceServer
	customers map[string]*registryv1.Customer
}

func (r *registry) GetCustomer(_ context.Context, req *registryv1.GetCustomerRequest) (*registryv1.GetCustomerResponse, error) {
	c, ok := r.customers[req.GetCustomerId()]
	if !ok {
		return nil, apperr.ErrNotFound
	}
	return &registryv1.GetCustomerResponse{Customer: c}, nil
}

// registryStandIn serves customers on 127.0.0.1 and returns the
// classification service's client of it.
func registryStandIn(t *testing.T, customers map[string]*registryv1.Customer) *registryclient.Client {
	t.Helper()
	srv := grpcx.NewServer(grpcx.Options{Service: "registry"})
	registryv1.RegisterCustomerServiceServer(srv.GRPC(), &registry{customers: customers})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry serve: %v", err)
		}
	})
	return registryclient.New(conn, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// downRegistry is a client of an address nothing listens on.
func downRegistry(t *testing.T) *registryclient.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return registryclient.New(conn, slog.New(slog.NewTextHandler(io.Discard, nil)))
}
