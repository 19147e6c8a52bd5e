package server_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules"
)

// newerTexas is us-tx 2026.2 as a RULE_PACKS_DIR would hold it: in force
// from before now, with the Attorney General threshold raised from 250 to
// 500 residents (for the test only, not the law).
func newerTexas(t *testing.T) *rules.Library {
	t.Helper()
	raw, err := os.ReadFile("../rules/packs/us-tx.2026.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pack := strings.NewReplacer(`version: "2026.1"`, `version: "2026.2"`,
		`effective_date: "2023-09-01"`, `effective_date: "2026-02-01"`, "value: 250\n", "value: 500\n").Replace(string(raw))
	lib, err := rules.WithDirectory(fstest.MapFS{"us-tx.2026.2.yaml": {Data: []byte(pack)}})
	if err != nil {
		t.Fatalf("load us-tx 2026.2: %v", err)
	}
	return lib
}

func findObligation(a *classificationv1.Assessment, id string) *classificationv1.Obligation {
	i := slices.IndexFunc(a.GetObligations(), func(o *classificationv1.Obligation) bool { return o.GetObligationId() == id })
	if i < 0 {
		return nil
	}
	return a.GetObligations()[i]
}

func TestReproduceAssessment(t *testing.T) {
	t.Parallel()
	t.Run("method=ReproduceAssessment/case=identical with the stored versions after a newer pack is loaded", func(t *testing.T) {
		t.Parallel()
		engine := rulesEngine(t)
		c := serve(t, newStore(t), engine)
		stored, err := c.AssessIncident(t.Context(), assessReq("req-1", "inc_1", 300))
		if err != nil {
			t.Fatalf("AssessIncident: %v", err)
		}
		want := stored.GetAssessment()

		again, err := c.ReproduceAssessment(t.Context(), &classificationv1.ReproduceAssessmentRequest{AssessmentId: want.GetAssessmentId()})
		if err != nil {
			t.Fatalf("ReproduceAssessment: %v", err)
		}
		if !again.GetIdentical() || len(again.GetDifferences()) != 0 || !proto.Equal(again.GetAssessment(), want) {
			t.Fatalf("reproduction identical=%v differences=%v; assessment equal to the stored one: %v",
				again.GetIdentical(), again.GetDifferences(), proto.Equal(again.GetAssessment(), want))
		}

		engine.Swap(newerTexas(t))
		whatIf, err := c.AssessHypothetical(t.Context(), &classificationv1.AssessHypotheticalRequest{Facts: want.GetFacts()})
		if err != nil {
			t.Fatalf("AssessHypothetical: %v", err)
		}
		ag := findObligation(whatIf.GetAssessment(), "us-tx.attorney-general")
		if ag == nil || ag.GetNotify() || ag.GetRulePackVersion() != "2026.2" {
			t.Fatalf("what-if with us-tx 2026.2: attorney-general = %v, want notify=false from 2026.2", ag)
		}

		again, err = c.ReproduceAssessment(t.Context(), &classificationv1.ReproduceAssessmentRequest{AssessmentId: want.GetAssessmentId()})
		if err != nil {
			t.Fatalf("ReproduceAssessment after the reload: %v", err)
		}
		ag = findObligation(again.GetAssessment(), "us-tx.attorney-general")
		if !again.GetIdentical() || len(again.GetDifferences()) != 0 || !proto.Equal(again.GetAssessment(), want) ||
			!ag.GetNotify() || ag.GetRulePackVersion() != "2026.1" {
			t.Errorf("reproduction after the reload: identical=%v differences=%v attorney-general=%v; want the stored 2026.1 decision",
				again.GetIdentical(), again.GetDifferences(), ag)
		}
	})
	t.Run("method=ReproduceAssessment/case=a named version no longer loaded", func(t *testing.T) {
		t.Parallel()
		engine := rulesEngine(t)
		engine.Swap(newerTexas(t))
		c := serve(t, newStore(t), engine)
		stored, err := c.AssessIncident(t.Context(), assessReq("req-1", "inc_1", 300))
		if err != nil {
			t.Fatalf("AssessIncident: %v", err)
		}
		embedded, err := rules.Embedded()
		if err != nil {
			t.Fatal(err)
		}
		engine.Swap(embedded)
		_, err = c.ReproduceAssessment(t.Context(), &classificationv1.ReproduceAssessmentRequest{AssessmentId: stored.GetAssessment().GetAssessmentId()})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "rule pack us-tx version 2026.2 is not loaded") {
			t.Errorf("err = %v, want FAILED_PRECONDITION naming us-tx 2026.2", err)
		}
	})
	t.Run("method=ReproduceAssessment/case=unknown id", func(t *testing.T) {
		t.Parallel()
		c := serve(t, newStore(t), realEngine(t))
		_, err := c.ReproduceAssessment(t.Context(), &classificationv1.ReproduceAssessmentRequest{AssessmentId: ids.New(domain.IDPrefix)})
		if status.Code(err) != codes.NotFound {
			t.Errorf("err = %v, want NOT_FOUND", err)
		}
	})
	t.Run("method=ReproduceAssessment/case=malformed id", func(t *testing.T) {
		t.Parallel()
		c := serve(t, newStore(t), realEngine(t))
		_, err := c.ReproduceAssessment(t.Context(), &classificationv1.ReproduceAssessmentRequest{AssessmentId: "inc_123"})
		if v := violations(t, err); v["assessment_id"] == "" {
			t.Errorf("violations = %v, want one on assessment_id", v)
		}
	})
}
