package domain_test

import (
	"fmt"
	"testing"

	"github.com/breachline/breachline/services/intake/internal/domain"
)

func validIndividual() domain.Individual {
	return domain.Individual{
		FullName: "Jane Doe", Email: "jane@example.org", Phone: "+1 (555) 010-0100",
		AddressLines: []string{" 1 Main St ", ""}, PostalCode: "78701-1234",
		Jurisdiction: "us-tx", Relationship: domain.RelationshipCustomer,
		DataElements: []domain.DataElement{domain.DataElementSSN, domain.DataElementName, domain.DataElementSSN},
	}
}

func TestValidateIndividual(t *testing.T) {
	t.Parallel()
	t.Run("case=valid-is-normalised", func(t *testing.T) {
		t.Parallel()
		ind := validIndividual()
		if p := domain.ValidateIndividual(&ind); len(p) != 0 {
			t.Fatalf("problems: %v", p)
		}
		if ind.Jurisdiction != "US-TX" || fmt.Sprint(ind.DataElements) != "[NAME SSN]" || fmt.Sprint(ind.AddressLines) != "[1 Main St]" {
			t.Fatalf("not normalised: %+v", ind)
		}
	})
	for _, tc := range []struct {
		name   string
		change func(*domain.Individual)
		fields string
	}{
		{"ssn-in-name", func(i *domain.Individual) { i.FullName = "Jane 123-45-6789" }, "[full_name]"},
		{"bare-ssn-as-external-id", func(i *domain.Individual) { i.ExternalID = "123456789" }, "[external_id]"},
		{"card-in-address", func(i *domain.Individual) { i.AddressLines = []string{"4111-1111-1111-1111"} }, "[address_lines]"},
		{"card-in-email", func(i *domain.Individual) { i.Email = "4012888888881881@example.org" }, "[email]"},
		{"no-name", func(i *domain.Individual) { i.FullName = "" }, "[full_name]"},
		{"bad-email-and-phone", func(i *domain.Individual) { i.Email, i.Phone = "jane", "call me" }, "[email phone]"},
		{"unknown-subdivision", func(i *domain.Individual) { i.Jurisdiction = "US-XX" }, "[jurisdiction]"},
		{"not-a-country", func(i *domain.Individual) { i.Jurisdiction = "ZZ" }, "[jurisdiction]"},
		{"no-residence", func(i *domain.Individual) { i.Jurisdiction = "" }, "[jurisdiction]"},
		{"no-relationship-or-elements", func(i *domain.Individual) { i.Relationship, i.DataElements = 0, nil }, "[relationship data_elements]"},
		{"unknown-element", func(i *domain.Individual) { i.DataElements = []domain.DataElement{1, 0, 42} }, "[data_elements[1] data_elements[2]]"},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			ind := validIndividual()
			tc.change(&ind)
			var fields []string
			for _, p := range domain.ValidateIndividual(&ind) {
				fields = append(fields, p.Field)
			}
			if fmt.Sprint(fields) != tc.fields {
				t.Fatalf("fields %v, want %s", fields, tc.fields)
			}
		})
	}
}

func TestCanonicalJurisdiction(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"US-TX": "US-TX", "US-PR": "US-PR", "US-DC": "US-DC", "DE": "DE", "UK": "GB", "CA-ON": "CA-ON",
		"US-XX": "", "XX": "", "us-tx": "", "USA": "", "US-": "", "DE-ABCD": "",
	} {
		got, ok := domain.CanonicalJurisdiction(in)
		if got != want || ok != (want != "") {
			t.Errorf("CanonicalJurisdiction(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestIndividualIDIgnoresFormatting(t *testing.T) {
	t.Parallel()
	a := domain.Individual{FullName: "Jane  Doe", Email: "JANE@example.org", Phone: "+1 555-0100"}
	b := domain.Individual{FullName: "jane doe", Email: "jane@example.org", Phone: "1 (555) 0100"}
	c := domain.Individual{FullName: "jane doe", Email: "other@example.org"}
	id := func(i domain.Individual) string { return domain.IndividualID("inc_1", domain.PersonKey(i)) }
	if id(a) != id(b) || id(a) == id(c) || id(a) == domain.IndividualID("inc_2", domain.PersonKey(a)) {
		t.Fatalf("ids: a=%s b=%s c=%s", id(a), id(b), id(c))
	}
	byExternal := func(ext, name string) string {
		return id(domain.Individual{ExternalID: ext, FullName: name})
	}
	if byExternal("C-1", "Jane") != byExternal(" c-1 ", "Janet") {
		t.Fatal("the external id alone should identify a person")
	}
}
