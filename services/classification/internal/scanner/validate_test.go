package scanner

import "testing"

func TestValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func([]byte) bool
		in    string
		want  bool
	}{
		{"luhn", luhn, "79927398713", true},
		{"luhn", luhn, "79927398710", false},
		{"card", validCard, "4111111111111111", true},
		{"card", validCard, "4111111111111112", false}, // Luhn fails
		{"card", validCard, "378282246310005", true},   // Amex
		{"card", validCard, "37828224631000", false},   // Amex length
		{"card", validCard, "5105105105105100", true},  // Mastercard
		{"card", validCard, "2223003122003222", true},  // Mastercard 2-series
		{"card", validCard, "6011111111111117", true},  // Discover
		{"card", validCard, "3530111333300000", true},  // JCB
		{"card", validCard, "30569309025904", true},    // Diners
		{"card", validCard, "1234567812345670", false}, // no issuer starts with 1 (Luhn passes)
		{"card", validCard, "0000000000000000", false},
		{"ssn", validSSN, "536221947", true},
		{"ssn", validSSN, "000221947", false}, // area 000
		{"ssn", validSSN, "666221947", false}, // area 666
		{"ssn", validSSN, "900221947", false}, // area 9xx
		{"ssn", validSSN, "536001947", false}, // group 00
		{"ssn", validSSN, "536220000", false}, // serial 0000
		{"ssn", validSSN, "078051120", false}, // Woolworth
		{"ssn", validSSN, "219099999", false}, // SSA pamphlet
		{"ssn", validSSN, "123456789", false}, // sample
		{"ssn", validSSN, "53622194", false},  // length
		{"aba", validABA, "021000021", true},
		{"aba", validABA, "011000015", true},
		{"aba", validABA, "021000022", false}, // checksum
		{"aba", validABA, "991000021", false}, // prefix range
		{"aba", validABA, "000000000", false},
		{"npi", validNPI, "1234567893", true},
		{"npi", validNPI, "1234567890", false},
		{"npi", validNPI, "3234567893", false}, // must start 1 or 2
		{"iban", validIBAN, "DE89370400440532013000", true},
		{"iban", validIBAN, "GB29NWBK60161331926819", true},
		{"iban", validIBAN, "FR1420041010050500013M02606", true},
		{"iban", validIBAN, "DE89370400440532013001", false}, // mod 97
		{"iban", validIBAN, "DE8937040044053201300", false},  // length for DE
		{"iban", validIBAN, "XX89370400440532013000", false}, // country
		{"nanp", validNANP, "4155552671", true},
		{"nanp", validNANP, "1155552671", false}, // area starts with 1
		{"nanp", validNANP, "4151552671", false}, // exchange starts with 1
		{"nanp", validNANP, "4115552671", false}, // N11 area
		{"e164", validE164, "442079460958", true},
		{"e164", validE164, "14155552671", true},
		{"e164", validE164, "11155552671", false}, // +1 with a bad area code
		{"e164", validE164, "2891234567", false},  // +28x is not assigned
		{"e164", validE164, "4412", false},        // too short
		{"mbi", validMBI, "1EG4TE5MK73", true},
		{"mbi", validMBI, "1EG4TE5MK7A", false},
		{"mbi", validMBI, "0EG4TE5MK73", false},
		{"mbi", validMBI, "1SG4TE5MK73", false}, // S is never used
	}
	for _, tt := range tests {
		t.Run("func="+tt.name+"/case="+tt.in, func(t *testing.T) {
			t.Parallel()
			if got := tt.check([]byte(tt.in)); got != tt.want {
				t.Errorf("%s(%s) = %v, want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestValidDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		y, m, d int
		want    bool
	}{
		{1985, 3, 14, true}, {1985, 2, 29, true}, {1985, 2, 30, false}, {1985, 4, 31, false}, {1985, 13, 1, false},
		{1899, 1, 1, false}, {2031, 1, 1, false},
	}
	for _, tt := range tests {
		if got := validDate(tt.y, tt.m, tt.d); got != tt.want {
			t.Errorf("validDate(%d, %d, %d) = %v, want %v", tt.y, tt.m, tt.d, got, tt.want)
		}
	}
}

func TestEntropy(t *testing.T) {
	t.Parallel()
	if e := entropy([]byte("aaaaaaaaaaaaaaaa")); e != 0 {
		t.Errorf("entropy of a repeated byte = %v, want 0", e)
	}
	if e := entropy([]byte("Q7x2Lr9vT4mZ8kP1wN6s")); e < 4 {
		t.Errorf("entropy of a random token = %v, want >= 4", e)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  Type
		in   string
		want string
	}{
		{SSN, "536-22-1947", "***-**-1947"},
		{PaymentCard, "4111 1111 1111 1111", "**** **** **** 1111"},
		{Phone, "(415) 555-2671", "(***) ***-2671"},
		{Email, "jane.doe@example.com", "j***@*******.com"},
		{Credentials, "hunter22", "********"},
		{Secret, "ghp_1a2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU", "ghp_********"},
		{Secret, "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----********"},
		{PersonName, "Jane Doe", "J*** D**"},
		{DateOfBirth, "03/14/1985", "**/**/1985"},
	}
	for _, tt := range tests {
		t.Run("type="+tt.typ.String()+"/case="+tt.want, func(t *testing.T) {
			t.Parallel()
			if got := mask(tt.typ, []byte(tt.in)); got != tt.want {
				t.Errorf("mask(%s) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}
