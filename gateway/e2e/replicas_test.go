package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

// Relay settings of the replicas under test: a short lease so that a killed
// replica's claims expire within the test, and a poll a little slower than
// the harness default so that nine pollers do not keep the one store busy.
const (
	replicaLease = "RELAY_LEASE=2s"
	replicaPoll  = "RELAY_INTERVAL=200ms"
)

// replicaSignal is a breach in one US state, so that each incident has a
// handful of notifying obligations (a few campaigns, not a dozen).
func replicaSignal(i int, discovered time.Time) *intakev1.ReportSignalRequest {
	return &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{
		Source:        "splunk-prod",
		SourceEventId: fmt.Sprintf("evt-replica-%d", i),
		Title:         fmt.Sprintf("Replica incident %03d", i),
		Severity:      intakev1.Severity_SEVERITY_CRITICAL,
		Type:          intakev1.IncidentType_INCIDENT_TYPE_PERSONAL_INFORMATION_BREACH,
		ObservedAt:    timestamppb.New(discovered.Add(-time.Hour)),
		Asset:         fmt.Sprintf("db-replica-%d", i),
		Exposure: &commonv1.BreachFacts{
			DataElements: []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			Affected:     []*commonv1.JurisdictionCount{{Jurisdiction: "US-TX", Count: 300}},
			DiscoveredAt: timestamppb.New(discovered),
		},
	}}
}

// TestReplicasIntakeClassification runs three replicas each of intake and
// classification as real processes against one embedded store (with one
// registry and one dispatch, whose e-mail goes to a real SMTP server).
// Incidents are reported while the replicas' relays work on them; at the
// first completed assessment one intake and one classification replica are
// SIGKILLed, holding claims (a job whose claimer died between its fence and
// its lease stranded here until mongox.Queue took over stale fences). Every job must still be done exactly once, judged by the real
// outputs: each incident has exactly one assessment (intake's assessment
// relay), each assessment exactly one campaign per notifying obligation
// (classification's campaign relay), and the response team got exactly one
// alert per member for every incident (intake's response relay, counted by
// Message-ID at the SMTP server).
func TestReplicasIntakeClassification(t *testing.T) {
	t.Parallel()
	const incidents = 16
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	// Build first: addresses chosen before a minute-long build may be
	// taken by then.
	binaries(t)
	s := newStack(t)
	mail := startMailbox(t)
	s.startStore(t)
	dumpOnFailure(t, s, "breachline_intake.assessment_queue", "breachline_intake.assessment_queue_leases",
		"breachline_intake.response_queue", "breachline_classification.campaign_handovers")
	addrs := freeAddrs(t, 6)
	classAddrs, intakeAddrs := addrs[:3], addrs[3:]
	// dispatch and registry talk to the first intake replica, which is
	// never killed.
	s.intake = intakeAddrs[0]
	dispatch := startProcess(t, "dispatch", s.serviceEnv(s.dispatch, "INTAKE_ADDR="+s.intake, "SMTP_ADDR="+mail.addr, replicaPoll)...)
	registry := startProcess(t, "registry", s.serviceEnv(s.registry, "DISPATCH_ADDR="+s.dispatch, "INTAKE_ADDR="+s.intake)...)
	var intakes []*process
	for i, addr := range intakeAddrs {
		// Each intake replica talks to its own classification replica, as
		// behind a per-pod connection; the store is shared. Correlation is
		// off so that every signal opens its own incident.
		intakes = append(intakes, startProcess(t, "intake", s.serviceEnv(addr, "CLASSIFICATION_ADDR="+classAddrs[i],
			"DISPATCH_ADDR="+s.dispatch, "CORRELATION_WINDOW=0", replicaLease, replicaPoll, "RESPONSE_INTERVAL=200ms")...))
	}
	for _, p := range append([]*process{dispatch, registry}, intakes...) {
		p.waitFor(t, "listening", 30*time.Second)
	}
	phase("store, dispatch, registry and 3 intake replicas up")

	var classifications []*process
	for _, a := range classAddrs {
		classifications = append(classifications, startProcess(t, "classification",
			s.serviceEnv(a, "DISPATCH_ADDR="+s.dispatch, "REGISTRY_ADDR="+s.registry, replicaLease, replicaPoll)...))
	}
	for _, p := range classifications {
		p.waitFor(t, "listening", 30*time.Second)
	}
	phase("3 classification replicas up")

	var clients []intakev1.IntakeServiceClient
	for _, a := range intakeAddrs {
		clients = append(clients, intakev1.NewIntakeServiceClient(dial(t, a)))
	}
	// The signals are reported while the relays work (to the replicas that
	// survive), so the kill below lands with most of the backlog queued.
	discovered := time.Now().UTC().Add(-time.Hour)
	reported := make(chan error, 1)
	go func() {
		for i := range incidents {
			if _, err := []intakev1.IntakeServiceClient{clients[0], clients[2]}[i%2].ReportSignal(t.Context(), replicaSignal(i, discovered)); err != nil {
				reported <- fmt.Errorf("ReportSignal %d: %w", i, err)
				return
			}
		}
		reported <- nil
	}()

	// Kill one replica of each while the backlog is being worked.
	survivor := clients[0]
	completed := func(ctx context.Context) (int, error) {
		resp, err := survivor.ListIncidents(ctx, &intakev1.ListIncidentsRequest{PageSize: 500})
		if err != nil {
			return 0, err
		}
		n := 0
		for _, inc := range resp.GetIncidents() {
			if inc.GetAssessmentStatus() == intakev1.AssessmentStatus_ASSESSMENT_STATUS_COMPLETED {
				n++
			}
		}
		return n, nil
	}
	// The first completed assessment in any replica's log is the cue: the
	// relays are then busy, and most of the backlog is still queued.
	firstDone := time.NewTicker(20 * time.Millisecond)
	defer firstDone.Stop()
	for cue := time.Now().Add(60 * time.Second); ; <-firstDone.C {
		if time.Now().After(cue) {
			t.Fatal("no assessment completed within 60s")
		}
		if slices.ContainsFunc(intakes, func(p *process) bool { return strings.Contains(p.output(), "assessment completed") }) {
			break
		}
	}
	// intake#2 and the classification replica it calls die together, so
	// the surviving intakes still reach a live classification (behind a
	// Kubernetes Service a dead pod leaves the endpoints).
	_ = intakes[1].cmd.Process.Kill()
	_ = classifications[1].cmd.Process.Kill()
	atKill, err := completed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if atKill >= incidents {
		t.Fatalf("all %d incidents were done before the kill; the test needs a larger backlog to mean anything", incidents)
	}
	phase(fmt.Sprintf("killed intake#2 and classification#2 with %d of %d incidents assessed", atKill, incidents))
	if err := <-reported; err != nil {
		t.Fatal(err)
	}
	phase(fmt.Sprintf("%d incidents reported", incidents))

	poll(t, 90*time.Second, func(ctx context.Context) error {
		n, err := completed(ctx)
		if err == nil && n != incidents {
			err = fmt.Errorf("%d of %d incidents assessed", n, incidents)
		}
		return err
	})
	phase("every incident assessed")

	classification := classificationv1.NewClassificationServiceClient(dial(t, classAddrs[0]))
	dispatchAPI := dispatchv1.NewDispatchServiceClient(dial(t, s.dispatch))
	list, err := survivor.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{}
	for _, inc := range list.GetIncidents() {
		titles[inc.GetTitle()] = true
		id := inc.GetIncidentId()
		as, err := classification.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{IncidentId: id})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(as.GetAssessments()); n != 1 {
			t.Fatalf("incident %s has %d assessments, want exactly 1", id, n)
		}
		want := 0
		for _, o := range as.GetAssessments()[0].GetObligations() {
			if o.GetNotify() {
				want++
			}
		}
		if want == 0 {
			t.Fatalf("incident %s: no notifying obligation; the campaign relay is not exercised", id)
		}
		eventually(t, 60*time.Second, func(ctx context.Context) error {
			cs, err := dispatchAPI.ListCampaigns(ctx, &dispatchv1.ListCampaignsRequest{IncidentId: id, PageSize: 500})
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, c := range cs.GetCampaigns() {
				if seen[c.GetObligation().GetObligationId()] {
					t.Fatalf("incident %s: obligation %s has two campaigns", id, c.GetObligation().GetObligationId())
				}
				seen[c.GetObligation().GetObligationId()] = true
			}
			if len(seen) != want {
				return fmt.Errorf("incident %s: %d campaigns, want %d", id, len(seen), want)
			}
			return nil
		})
	}
	if len(titles) != incidents {
		t.Fatalf("%d distinct incidents, want %d", len(titles), incidents)
	}
	phase("one assessment per incident, one campaign per obligation")

	// The response relay alerted the team once per incident: every alert
	// has its own Message-ID, accepted once, and every incident got the
	// same number of alerts (one per member).
	const alertPrefix = "[Breachline] Possible data security breach: "
	subject := decodeSubject
	eventually(t, 60*time.Second, func(context.Context) error {
		perIncident := map[string]int{}
		for id, n := range mail.byMessageID(func(s string) bool { return strings.HasPrefix(subject(s), alertPrefix) }) {
			if n != 1 {
				t.Fatalf("response alert %s accepted %d times", id, n)
			}
		}
		for _, h := range mail.headers() {
			if s := subject(h.Get("Subject")); strings.HasPrefix(s, alertPrefix) {
				perIncident[strings.TrimPrefix(s, alertPrefix)]++
			}
		}
		if len(perIncident) != incidents {
			var missing []string
			for title := range titles {
				if perIncident[title] == 0 {
					missing = append(missing, title)
				}
			}
			return fmt.Errorf("%d of %d incidents alerted; no alert for %v", len(perIncident), incidents, missing)
		}
		members := perIncident[list.GetIncidents()[0].GetTitle()]
		for title, n := range perIncident {
			if !titles[title] {
				t.Fatalf("alert for unknown incident %q", title)
			}
			if n != members {
				return fmt.Errorf("incident %q: %d alerts, others %d", title, n, members)
			}
		}
		return nil
	})
	phase("one response-team alert per member and incident")
}

// poll is eventually for conditions that are costly to check (a listing
// of every incident): it checks once a second, not ten times a second,
// so that the check does not slow down the work it waits for.
func poll(t testing.TB, timeout time.Duration, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err = f(ctx)
		cancel()
		if err == nil {
			return
		}
		<-tick.C
	}
	t.Fatalf("condition not met within %v: %v", timeout, err)
}
