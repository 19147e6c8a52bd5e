package csvimport

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header, wantErr string
	}{
		{"documented", "external_id,given_name,family_name,email,phone,address_line1,address_line2,locality,postal_code,jurisdiction,relationship,data_elements", ""},
		{"aliases-bom-and-case", "\ufeffFirst Name,Last-Name,E-Mail,State,Country,Relationship,Compromised Data", ""},
		{"sensitive", "full_name,Social Security Number,state,relationship,data_elements", `"Social Security Number" looks like it holds sensitive values`},
		{"card", "full_name,cc_number,state,relationship,data_elements", `"cc_number" looks like it holds sensitive values`},
		{"unknown", "full_name,notes,state,relationship,data_elements", `column 2 "notes" is not a known column`},
		{"repeated", "full_name,name,state,relationship,data_elements", `column 2 "name" repeats column "full_name"`},
		{"required", "email", "a name column is required: full_name, or given_name and family_name; a residence column is required"},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseHeader(strings.Split(tc.header, ","))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("parseHeader: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRowMapping(t *testing.T) {
	t.Parallel()
	l, err := parseHeader(strings.Split("full_name,street,address2,state,country,relationship,data_elements", ","))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rec  string
		want string
	}{
		{"Jane,1 Main St,,TX,US,customer,SSN;name", `jurisdiction:"US-TX" relationship:RELATIONSHIP_CUSTOMER data_elements:DATA_ELEMENT_SSN data_elements:DATA_ELEMENT_NAME`},
		{"Jane,1 Main St,Apt 2,tx,,employee,ssn|Credit Card|dob", `jurisdiction:"US-TX" relationship:RELATIONSHIP_ASSOCIATE data_elements:DATA_ELEMENT_SSN data_elements:DATA_ELEMENT_PAYMENT_CARD data_elements:DATA_ELEMENT_DATE_OF_BIRTH`},
		{"Jane,,,,Germany,VENDOR,DATA_ELEMENT_EMAIL_ADDRESS;;", `jurisdiction:"DE" relationship:RELATIONSHIP_VENDOR data_elements:DATA_ELEMENT_EMAIL_ADDRESS`},
		{"Jane,,,ON,CA,friend,name;shoe size", `jurisdiction:"CA-ON" data_elements:DATA_ELEMENT_NAME data_elements:DATA_ELEMENT_UNSPECIFIED`},
		{"Jane,,,US-CA,,OTHER,name", `jurisdiction:"US-CA" relationship:RELATIONSHIP_OTHER data_elements:DATA_ELEMENT_NAME`},
	} {
		ind := l.row(strings.Split(tc.rec, ","))
		ind.FullName, ind.AddressLines = "", nil
		if got := strings.Join(strings.Fields(fmt.Sprint(ind)), " "); got != tc.want {
			t.Errorf("row %q:\n got %s\nwant %s", tc.rec, got, tc.want)
		}
	}
}
