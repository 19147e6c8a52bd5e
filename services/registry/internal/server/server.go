// Package server is the gRPC face of the registry: it converts between proto
// messages and domain values and calls the domain. It makes no decisions and
// builds no statuses; domain errors go back unchanged and pkg/grpcx maps
// them (INVALID_ARGUMENT with field violations, NOT_FOUND, ABORTED...).
package server

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// QuietMethods are the registry's hot internal queries: their successful
// calls are logged at Debug (grpcx.Options.QuietMethods), since other
// services make thousands a second.
var QuietMethods = []string{registryv1.SubprocessorService_CheckSubprocessor_FullMethodName}

// Register registers the registry's services, all backed by svc, on r.
func Register(r grpc.ServiceRegistrar, svc *domain.Service) {
	registryv1.RegisterCustomerServiceServer(r, &CustomerServer{svc: svc})
	registryv1.RegisterSubprocessorServiceServer(r, &SubprocessorServer{svc: svc})
	registryv1.RegisterDataSubjectRequestServiceServer(r, &DataSubjectRequestServer{svc: svc})
	registryv1.RegisterSensitiveDataRemovalServiceServer(r, &SensitiveDataRemovalServer{svc: svc})
	registryv1.RegisterDataReturnServiceServer(r, &DataReturnServer{svc: svc})
	registryv1.RegisterAuditServiceServer(r, &AuditServer{svc: svc})
}

// timeOf returns the time of an optional timestamp (zero when absent).
// Out-of-range timestamps come out as times far in the past or future,
// which the domain's range checks reject with the field's path.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// timestamp returns t as a proto timestamp, nil for the zero time.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
