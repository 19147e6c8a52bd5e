package server

import (
	"net/http"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/csvimport"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// CSVImportRoute is the upload route for affected individuals (see
// pkg/csvimport). It is served outside the global body limit with its own,
// larger one (Options.MaxImportBytes).
const CSVImportRoute = "POST /v1/incidents/{incident_id}/affectedIndividuals:importCsv"

// withCSVImport sends the CSV upload route to the streaming import handler
// and everything else to next (which applies the global body limit).
func withCSVImport(b Backends, opts Options, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(CSVImportRoute, csvimport.Handler(intakev1.NewAffectedIndividualsServiceClient(b.Intake), csvimport.Options{
		MaxBodyBytes:   opts.MaxImportBytes,
		ForwardHeaders: []string{grpcx.RequestIDHeader, auth.DevSubjectHeader, auth.DevRolesHeader, auth.DevCustomersHeader, "Authorization"},
	}))
	mux.Handle("/", next)
	return mux
}

// Unwrap lets http.NewResponseController reach the connection through the
// logging middleware, so the CSV route can extend its read and write
// deadlines.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
