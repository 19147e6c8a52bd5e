package protoconv_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/protoconv"
)

// TestEnumsMatchDomainNames pins the index mapping: every proto enum value
// (but UNSPECIFIED) has the domain name of the same position, and back.
func TestEnumsMatchDomainNames(t *testing.T) {
	t.Parallel()
	if got, want := len(commonv1.DataElement_name)-1, len(domain.Elements); got != want {
		t.Fatalf("proto has %d data elements, domain %d", got, want)
	}
	for n, name := range commonv1.DataElement_name {
		e := protoconv.ElementFromProto(commonv1.DataElement(n))
		if n == 0 {
			continue
		}
		if want := "DATA_ELEMENT_" + strings.ToUpper(string(e)); name != want {
			t.Errorf("enum %d is %s, domain maps it to %q", n, name, e)
		}
		if back := protoconv.ElementToProto(e); back != commonv1.DataElement(n) {
			t.Errorf("element %q maps back to %v, want %d", e, back, n)
		}
	}
	if got, want := len(classificationv1.Audience_name)-1, len(domain.Audiences); got != want {
		t.Fatalf("proto has %d audiences, domain %d", got, want)
	}
	for i, a := range domain.Audiences {
		if got, want := protoconv.AudienceToProto(a).String(), "AUDIENCE_"+strings.ToUpper(string(a)); got != want {
			t.Errorf("audience %d %q maps to %s, want %s", i, a, got, want)
		}
	}
}

func TestElementFromProto_unknownIsRejectedByDomain(t *testing.T) {
	t.Parallel()
	for _, n := range []commonv1.DataElement{0, 19, -1} {
		if e := protoconv.ElementFromProto(n); e.Known() {
			t.Errorf("ElementFromProto(%d) = %q, a known element", n, e)
		}
	}
}

// TestFactsRoundTrip pins the new fact fields through proto and back.
func TestFactsRoundTrip(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := domain.Facts{
		DiscoveredAt: t0, DeterminedAt: t0.Add(time.Hour), MaterialityDeterminedAt: t0.Add(2 * time.Hour),
		CustomerIDs: []string{"acme"}, Role: domain.RoleController, HIPAARole: domain.HIPAABusinessAssociate,
		NIS2Entity: domain.NIS2Essential, SECRegistrant: true, NoticeCostUSD: 12,
		Holds: []domain.Hold{{ID: "h", RequestedBy: "FBI", Start: t0, End: t0.Add(time.Hour), Jurisdictions: []string{"US-TX"}, Audiences: []domain.Audience{domain.AudienceMedia}}},
	}
	p := protoconv.FactsToProto(f)
	if p.GetRole() != commonv1.DataRole_DATA_ROLE_CONTROLLER || p.GetHipaaRole() != commonv1.HipaaRole_HIPAA_ROLE_BUSINESS_ASSOCIATE ||
		p.GetNis2Entity() != commonv1.Nis2Entity_NIS2_ENTITY_ESSENTIAL {
		t.Errorf("enums = %v %v %v", p.GetRole(), p.GetHipaaRole(), p.GetNis2Entity())
	}
	if got := protoconv.FactsFromProto(p); !reflect.DeepEqual(got, f) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, f)
	}
	if got := protoconv.FactsFromProto(&commonv1.BreachFacts{Role: 7}).Role; got == "" || got == domain.RoleController {
		t.Errorf("unknown role number became %q, want a name validation rejects", got)
	}
}
