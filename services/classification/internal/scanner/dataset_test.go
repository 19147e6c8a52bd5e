package scanner

import (
	"strings"
	"testing"
)

func TestClassifyColumn(t *testing.T) {
	t.Parallel()
	s := New()
	tests := []struct {
		name   string
		column string
		values []string
		want   Type // TypeUnspecified: nothing detected
		header bool
	}{
		{"ssn by header and values", "ssn", []string{"536221947", "401-73-2289", ""}, SSN, true},
		{"ssn by values only", "col_7", []string{"536-22-1947", "401-73-2289", "219-33-4410"}, SSN, false},
		{"dob needs the header", "date_of_birth", []string{"1985-03-14", "03/30/1991"}, DateOfBirth, true},
		{"dates without a header are not births", "created", []string{"1985-03-14", "03/30/1991"}, TypeUnspecified, false},
		{"camelCase header", "customerPhoneNumber", []string{"4155552671", "(212) 555-0147"}, Phone, true},
		{"account numbers", "bank_account_number", []string{"000123456789", "7788990011"}, BankAccount, true},
		{"order numbers are not accounts", "order_number", []string{"000123456789", "7788990011"}, TypeUnspecified, false},
		{"names", "full_name", []string{"Jane Doe", "John Smith"}, PersonName, true},
		{"file names are not people", "file_name", []string{"Report Final", "Budget"}, TypeUnspecified, false},
		{"header without samples", "passport_number", nil, Passport, true},
		{"passwords", "password", []string{"hunter22", "Tr0ub4dor&3"}, Credentials, true},
		{"emails", "contact", []string{"jane@example.com", "bob@example.org"}, Email, false},
		{"masked ssns do not match", "ssn", []string{"***-**-1947", "***-**-2289"}, TypeUnspecified, false},
	}
	for _, tt := range tests {
		t.Run("method=ClassifyColumn/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			got := s.ClassifyColumn(tt.column, tt.values)
			if tt.want == TypeUnspecified {
				if len(got) != 0 {
					t.Errorf("ClassifyColumn(%q) = %+v, want nothing", tt.column, got)
				}
				return
			}
			if len(got) == 0 || got[0].Type != tt.want || got[0].HeaderMatch != tt.header {
				t.Fatalf("ClassifyColumn(%q) = %+v, want first %s with header match %v", tt.column, got, tt.want, tt.header)
			}
			if got[0].Confidence < 0.5 || got[0].Confidence > 1 {
				t.Errorf("confidence %v out of range", got[0].Confidence)
			}
		})
	}
}

// TestCSVHeaderContext checks that a CSV header gives context to the
// values of its columns in scanned text.
func TestCSVHeaderContext(t *testing.T) {
	t.Parallel()
	in := "id,name,routing_number,date_of_birth,created\n1,Jane,021000021,1985-03-14,2024-01-02\n"
	r := New().Scan([]byte(in))
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Type.String()+"="+in[f.Start:f.End])
	}
	if strings.Join(got, " ") != "routing=021000021 dob=1985-03-14" {
		t.Errorf("findings = %v, want the routing number and the date of birth only", got)
	}
}
