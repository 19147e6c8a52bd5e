package scanner

import (
	"slices"
	"testing"
)

// TestNames checks which spans of a text are reported as person names:
// names with a label, in a person column of a table, as an e-mail display
// name, after a sign-off, or starting with a common given name, next to
// other personal information; and none for organisations, products,
// headers or names far from it.
func TestNames(t *testing.T) {
	t.Parallel()
	s := New()
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"label", "Dependant: Tobiah Quennell, SSN 536-22-1948", []string{"Tobiah Quennell"}},
		{"label-no-colon", "Prescriber Tobiah Quennell signed; phone 415-555-2671", []string{"Tobiah Quennell"}},
		{"label-german", "Kontoinhaber: Lorenz Ebersbach, IBAN DE89370400440532013000", []string{"Lorenz Ebersbach"}},
		{"label-json", `{"traveler": "Wendeline Marsh", "ssn": "536-22-1948"}`, []string{"Wendeline Marsh"}},
		{"label-xml", "<name>Wendeline Marsh</name><ssn>536-22-1948</ssn>", []string{"Wendeline Marsh"}},
		{"label-next-line", "Name:\nWendeline Marsh\nSSN: 536-22-1948", []string{"Wendeline Marsh"}},
		{"last-first", "Account holder: Ashworth, Perpetua  SSN 536-22-1947", []string{"Ashworth, Perpetua"}},
		{"last-first-caps", "Patient: ASHWORTH, PERPETUA DOB 01/02/1980", []string{"ASHWORTH, PERPETUA"}},
		{"title", "Dear Mrs. Ashworth, your card 4111111111111111 was charged.", []string{"Ashworth"}},
		{"utf8", "Customer: Émile Brassard, card 4111111111111111", []string{"Émile Brassard"}},
		{"utf8-given", "José Núñez, tel. +34 612 380 349", []string{"José Núñez"}},
		{"particles", "Name: Ludwig van Ebersbach, SSN 536-22-1948", []string{"Ludwig van Ebersbach"}},
		{"hyphen-apostrophe", "Name: Anne-Marie O'Neill-Duval, SSN 536-22-1948", []string{"Anne-Marie O'Neill-Duval"}},
		{"possessive", "Jane Doe's SSN is 536-22-1948", []string{"Jane Doe"}},
		{"given-name", "Oscar Quennell, SSN 536-22-1948", []string{"Oscar Quennell"}},
		{"display-name", `From: "Tobiah Quennell" <tobiah.quennell@example.com>`, []string{"Tobiah Quennell"}},
		{"display-name-bare", "Author: Perpetua Ashworth <pashworth@example.org>", []string{"Perpetua Ashworth"}},
		{"name-then-email", "Perpetua Ashworth, perpetua.ashworth@example.org", []string{"Perpetua Ashworth"}},
		{"sign-off", "Please update routing 021000021. Thanks, Tobiah Quennell", []string{"Tobiah Quennell"}},
		{"sign-off-next-line", "Best regards,\nTobiah Quennell\nMobile: 415-555-2671", []string{"Tobiah Quennell"}},
		{"csv", "holder_name,ssn\nLorenz Ebersbach,536-22-1948", []string{"Lorenz Ebersbach"}},
		{"csv-later-column", "ssn,nationality,full_name\n536-22-1948,DEU,Lorenz Ebersbach", []string{"Lorenz Ebersbach"}},
		{"csv-quoted", "NAME,SSN\n\"QUENNELL, TOBIAH\",536-22-1947", []string{"QUENNELL, TOBIAH"}},
		{"csv-after-title", "Export\nname,ssn\nLorenz Ebersbach,536-22-1948\nTobiah Quennell,536-22-1947",
			[]string{"Lorenz Ebersbach", "Tobiah Quennell"}},
		{"tsv", "travelerName\tssn\nLorenz Ebersbach\t536-22-1948", []string{"Lorenz Ebersbach"}},
		{"markdown", "| Traveler | Phone |\n|---|---|\n| Wendeline Marsh | 415-555-2671 |", []string{"Wendeline Marsh"}},
		{"paragraph", "Employee: Tobiah Quennell\nDepartment: Finance\nTitle: Analyst\nStart date: 2024-01-02\n" +
			"Notes: onboarding complete and badges issued, training still pending\nSSN: 536-22-1948", []string{"Tobiah Quennell"}},
		{"not-across-blank-line", "Employee: Tobiah Quennell\nDepartment: Finance\n\nNotes: onboarding complete and badges " +
			"issued, training still pending for the new starter\nSSN: 536-22-1948", nil},
		{"alone", "Tobiah Quennell joined the team.", nil},
		{"no-label-unknown-given-name", "Tobiah Quennell, SSN 536-22-1948", nil},
		{"company-column", "company_name,ssn\nGlobex Industries,536-22-1948", nil},
		{"product-column", "card_name,card\nPlatinum Rewards,4111111111111111", nil},
		{"first-name-column", "first_name,last_name,ssn\nAlice,Johnson,536-22-1948", nil},
		{"shared-mailbox", "From: Acme Notifications <noreply@acme.example.com>", nil},
		{"subject-header", "Subject: Onboarding Packet\nSSN: 536-22-1948", nil},
		{"organisation", "Provider: Blue Cross Blue Shield, SSN 536-22-1947", nil},
		{"sign-off-team", "Thanks, Acme Payroll Team, phone 415-555-2671", nil},
		{"label-company", "Name: Acme Corporation, card 4111111111111111", nil},
		{"months", "Patient seen March April, DOB 01/02/1980", nil},
	}
	for _, tc := range cases {
		t.Run("method=Scan/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range s.Scan([]byte(tc.text)).Findings {
				if f.Type == PersonName {
					got = append(got, tc.text[f.Start:f.End])
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("names in %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestPersonHeader(t *testing.T) {
	t.Parallel()
	cases := []struct {
		header string
		want   bool
	}{
		{"name", true}, {"Full Name", true}, {"full_name", true}, {"travelerName", true}, {" Name ", true},
		{"holder", true}, {"card_holder_name", true}, {"account holder", true}, {"Kontoinhaber", true},
		{"patient_full_name", true}, {"provider_name", true},
		{"company_name", false}, {"file name", false}, {"username", false}, {"plan_name", false},
		{"card_name", false}, {"drug name", false}, {"iban", false}, {"", false},
	}
	for _, tc := range cases {
		t.Run("method=personHeader/case="+tc.header, func(t *testing.T) {
			t.Parallel()
			if got := personHeader([]byte(tc.header)); got != tc.want {
				t.Errorf("personHeader(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

func TestFoldName(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"José", "jose"}, {"Zoë", "zoe"}, {"Siobhán", "siobhan"}, {"Łukasz", "lukasz"}, {"SØREN", "soren"},
		{"Ana", "ana"}, {"李", ""},
	}
	for _, tc := range cases {
		t.Run("method=foldName/case="+tc.in, func(t *testing.T) {
			t.Parallel()
			var buf [24]byte
			if got := foldName(buf[:], []byte(tc.in)); got != tc.want {
				t.Errorf("foldName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestUpperMask(t *testing.T) {
	t.Parallel()
	// Every byte value at every position: the mask marks each upper-case
	// or non-ASCII byte.
	for c := range 256 {
		for pos := range 8 {
			var w [8]byte
			for i := range w {
				w[i] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			want := isUpper(byte(c)) || c >= 0x80
			if got := upperMask(x)&(0x80<<(8*pos)) != 0; got != want {
				t.Fatalf("upperMask byte %#x at %d = %v, want %v", c, pos, got, want)
			}
		}
	}
}
