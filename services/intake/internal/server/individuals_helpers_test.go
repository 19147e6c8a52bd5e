package server_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/breachline/breachline/pkg/csvimport"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// individualsStack is AffectedIndividualsService on a real gRPC server
// (loopback TCP, the platform's interceptor chain) over a fresh database of
// the embedded store, with the CSV upload handler in front of it.
type individualsStack struct {
	client intakev1.AffectedIndividualsServiceClient
	db     *mongo.Database
	csvURL func(incidentID string) string
}

func startIndividuals(tb testing.TB, db *mongo.Database, opts domain.ImportOptions) individualsStack {
	tb.Helper()
	if err := mongox.EnsureIndexes(context.Background(), db, store.IndividualsIndexes()); err != nil {
		tb.Fatalf("EnsureIndexes: %v", err)
	}
	srv := grpcx.NewServer(grpcx.Options{Service: "intake"})
	intakev1.RegisterAffectedIndividualsServiceServer(srv.GRPC(),
		server.NewIndividuals(domain.NewIndividuals(store.NewIndividuals(db), time.Now, nil, opts)))
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeListener(ctx, lis)
	}()
	conn, err := grpcx.Dial(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	client := intakev1.NewAffectedIndividualsServiceClient(conn)
	mux := http.NewServeMux()
	mux.Handle("POST /v1/incidents/{incident_id}/affectedIndividuals:importCsv", csvimport.Handler(client, csvimport.Options{}))
	hs := httptest.NewServer(mux)
	tb.Cleanup(func() {
		hs.Close()
		_ = conn.Close()
		cancel()
		<-served
	})
	return individualsStack{
		client: client,
		db:     db,
		csvURL: func(id string) string { return hs.URL + "/v1/incidents/" + id + "/affectedIndividuals:importCsv" },
	}
}

// newIncident stores a bare incident for the individuals to belong to.
// AffectedIndividualsService only needs the incident to exist; opening one
// through ReportSignal is IntakeService's business and tested there.
func (s individualsStack) newIncident(tb testing.TB) string {
	tb.Helper()
	id := ids.New(domain.IncidentPrefix)
	if _, err := s.db.Collection(store.IncidentsCollection).InsertOne(context.Background(), bson.D{{Key: "_id", Value: id}}); err != nil {
		tb.Fatalf("insert incident: %v", err)
	}
	return id
}

// usJurisdictions are the 54 US jurisdictions with breach laws: the states,
// DC, Puerto Rico, Guam and the Virgin Islands.
var usJurisdictions = []string{
	"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
	"ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
	"OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI",
}

var (
	givenNames  = []string{"Jane", "John", "Maria", "Wei", "Aisha", "Carlos", "Olga", "Liam", "Noah", "Emma", "Sofia", "Mateo", "Hannah", "Yusuf", "Chloé", "Jürgen"}
	familyNames = []string{"Smith", "Garcia", "Nguyen", "Müller", "O'Brien", "Kowalski", "Johnson", "Okafor", "Rossi", "Dubois", "Tanaka", "Novak", "Silva", "Brown"}
	streets     = []string{"Main St", "Oak Ave", "Elm St", "Maple Dr", "Cedar Ln", "Pine Rd", "Lakeview Blvd", "Hauptstraße"}
	elementSets = []string{"SSN;NAME", "name|email", "NAME;PAYMENT_CARD", "name;date of birth;home_address", "NAME;DRIVERS_LICENSE", "NAME;MEDICAL;HEALTH_INSURANCE", "email;password"}
	relations   = []string{"CUSTOMER", "CUSTOMER", "CUSTOMER", "ASSOCIATE", "VENDOR", "other"}
	euCountries = []string{"DE", "FR", "NL", "IE", "ES", "IT"}
)

const csvHeader = "external_id,first_name,last_name,email,phone,address,city,state,zip,country,relationship,data_elements\n"

// genCSV makes a CSV file of n people; every badEvery-th row (when
// badEvery > 0) has an unknown data element. 90% live in the US, spread over
// all 54 jurisdictions, the rest in the EU.
func genCSV(n, badEvery int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.Grow(n * 130)
	b.WriteString(csvHeader)
	for i := 1; i <= n; i++ {
		given, family := givenNames[rng.IntN(len(givenNames))], familyNames[rng.IntN(len(familyNames))]
		state, country, zip := usJurisdictions[rng.IntN(len(usJurisdictions))], "US", fmt.Sprintf("%05d", rng.IntN(99999))
		if rng.IntN(10) == 0 {
			state, country, zip = "", euCountries[rng.IntN(len(euCountries))], fmt.Sprintf("%05d", rng.IntN(99999))
		}
		elements := elementSets[rng.IntN(len(elementSets))]
		if badEvery > 0 && i%badEvery == 0 {
			elements = "NAME;SHOE_SIZE"
		}
		fmt.Fprintf(&b, "C%08d,%s,%s,%s.%s%d@example.com,+1 555 %03d %04d,%d %s,Springfield,%s,%s,%s,%s,%s\n",
			i, given, csvQuote(family), given, family, i, rng.IntN(1000), rng.IntN(10000), 1+rng.IntN(9999),
			streets[rng.IntN(len(streets))], state, zip, country, relations[rng.IntN(len(relations))], elements)
	}
	return b.Bytes()
}

func csvQuote(s string) string {
	if bytes.ContainsAny([]byte(s), `",'`) {
		return `"` + s + `"`
	}
	return s
}

// waitFor polls cond every 20ms until it holds, failing after 10s.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			tb.Fatal("condition not met within 10s")
		case <-tick.C:
		}
	}
}
