package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

func validSubprocessor(id string) *registryv1.Subprocessor {
	return &registryv1.Subprocessor{
		SubprocessorId:    id,
		LegalName:         "Amazon Web Services, Inc.",
		Country:           "US",
		Purpose:           "Cloud hosting of the Products.\nData at rest is encrypted.",
		Products:          []string{"admin", "teacher"},
		DataCategories:    []string{"student name", "browsing history"},
		TransferMechanism: registryv1.TransferMechanism_TRANSFER_MECHANISM_FRAMEWORK,
		AgreementTime:     timestamppb.New(time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)),
	}
}

func createSubprocessor(t *testing.T, e *env, sp *registryv1.Subprocessor) *registryv1.Subprocessor {
	t.Helper()
	resp, err := e.subprocessors.CreateSubprocessor(t.Context(), &registryv1.CreateSubprocessorRequest{Subprocessor: sp})
	if err != nil {
		t.Fatalf("CreateSubprocessor: %v", err)
	}
	return resp.GetSubprocessor()
}

func TestCreateSubprocessor(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=ok_defaults_to_proposed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		got := createSubprocessor(t, e, validSubprocessor("aws"))
		want := validSubprocessor("aws")
		want.Status = registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_PROPOSED
		want.CreateTime = timestamppb.New(now)
		want.UpdateTime = timestamppb.New(now)
		want.Version = 1
		want.Etag = "v1"
		wantProto(t, got, want)
		read := must[*registryv1.GetSubprocessorResponse](t)(e.subprocessors.GetSubprocessor(t.Context(), &registryv1.GetSubprocessorRequest{SubprocessorId: "aws"}))
		wantProto(t, read.GetSubprocessor(), want)
	})

	t.Run("method=Create/case=idempotent_retry", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := &registryv1.CreateSubprocessorRequest{RequestId: "7f1c", Subprocessor: validSubprocessor("aws")}
		first := must[*registryv1.CreateSubprocessorResponse](t)(e.subprocessors.CreateSubprocessor(t.Context(), req))
		e.clock.Advance(time.Minute)
		second := must[*registryv1.CreateSubprocessorResponse](t)(e.subprocessors.CreateSubprocessor(t.Context(), req))
		wantProto(t, second, first)
	})

	t.Run("method=Create/case=already_exists", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createSubprocessor(t, e, validSubprocessor("aws"))
		_, err := e.subprocessors.CreateSubprocessor(t.Context(), &registryv1.CreateSubprocessorRequest{RequestId: "r", Subprocessor: validSubprocessor("aws")})
		wantCode(t, err, codes.AlreadyExists)
	})

	// Transfer mechanisms by location: outside the EU/EEA/CH a legal basis
	// is required; inside there is no transfer to justify.
	transfers := []struct {
		country string
		mech    registryv1.TransferMechanism
		ok      bool
	}{
		{"US", registryv1.TransferMechanism_TRANSFER_MECHANISM_UNSPECIFIED, false},
		{"US", registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE, false},
		{"US", registryv1.TransferMechanism_TRANSFER_MECHANISM_SCC, true},
		{"GB", registryv1.TransferMechanism_TRANSFER_MECHANISM_ADEQUACY, true},
		{"IN", registryv1.TransferMechanism_TRANSFER_MECHANISM_BCR, true},
		{"DE", registryv1.TransferMechanism_TRANSFER_MECHANISM_UNSPECIFIED, true},
		{"NO", registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE, true},
		{"CH", registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE, true},
		{"FR", registryv1.TransferMechanism_TRANSFER_MECHANISM_SCC, false},
	}
	for _, tc := range transfers {
		t.Run("method=Create/case=transfer_"+tc.country+"_"+tc.mech.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sp := validSubprocessor("vendor")
			sp.Country = tc.country
			sp.TransferMechanism = tc.mech
			_, err := e.subprocessors.CreateSubprocessor(t.Context(), &registryv1.CreateSubprocessorRequest{Subprocessor: sp})
			if tc.ok {
				if err != nil {
					t.Fatalf("CreateSubprocessor: %v", err)
				}
				return
			}
			wantViolations(t, err, "subprocessor.transfer_mechanism")
		})
	}

	cases := []struct {
		name   string
		mutate func(sp *registryv1.Subprocessor)
		want   []string
	}{
		{
			name:   "missing_required_fields",
			mutate: func(sp *registryv1.Subprocessor) { sp.LegalName = ""; sp.Country = ""; sp.Purpose = "" },
			want:   []string{"subprocessor.legal_name", "subprocessor.country", "subprocessor.purpose"},
		},
		{
			// A request missing a REQUIRED field also learns, in the same
			// answer, what else is wrong with it (server.Validator).
			name: "missing_and_malformed",
			mutate: func(sp *registryv1.Subprocessor) {
				sp.LegalName = ""
				sp.Country = "us"
				sp.AgreementTime = timestamppb.New(now.Add(time.Hour))
			},
			want: []string{"subprocessor.legal_name", "subprocessor.country", "subprocessor.agreement_time"},
		},
		{
			name: "missing_purpose_transfer_without_basis",
			mutate: func(sp *registryv1.Subprocessor) {
				sp.Purpose = ""
				sp.TransferMechanism = registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE
				sp.DataCategories = []string{"names", "names"}
			},
			want: []string{"subprocessor.purpose", "subprocessor.data_categories[1]", "subprocessor.transfer_mechanism"},
		},
		{
			name: "everything_wrong",
			mutate: func(sp *registryv1.Subprocessor) {
				sp.SubprocessorId = "AWS"
				sp.LegalName = strings.Repeat("x", 201)
				sp.Country = "us"
				sp.Purpose = strings.Repeat("p", 1001)
				sp.Products = []string{"-x"}
				sp.DataCategories = []string{"names", " padded", "names"}
				sp.TransferMechanism = 77
				sp.AgreementTime = timestamppb.New(now.Add(time.Hour))
				sp.Status = 9
			},
			want: []string{
				"subprocessor.subprocessor_id",
				"subprocessor.legal_name",
				"subprocessor.country",
				"subprocessor.purpose",
				"subprocessor.products[0]",
				"subprocessor.data_categories[1]",
				"subprocessor.data_categories[2]",
				"subprocessor.transfer_mechanism",
				"subprocessor.agreement_time",
				"subprocessor.status",
			},
		},
		{
			name:   "unassigned_country",
			mutate: func(sp *registryv1.Subprocessor) { sp.Country = "XK" },
			want:   []string{"subprocessor.country"},
		},
		{
			name:   "ancient_agreement",
			mutate: func(sp *registryv1.Subprocessor) { sp.AgreementTime = timestamppb.New(time.Unix(0, 0)) },
			want:   []string{"subprocessor.agreement_time"},
		},
	}
	for _, tc := range cases {
		t.Run("method=Create/case=invalid_"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sp := validSubprocessor("aws")
			tc.mutate(sp)
			_, err := e.subprocessors.CreateSubprocessor(t.Context(), &registryv1.CreateSubprocessorRequest{Subprocessor: sp})
			wantViolations(t, err, tc.want...)
		})
	}
}

func TestGetSubprocessor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("method=Get/case=not_found", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.GetSubprocessor(t.Context(), &registryv1.GetSubprocessorRequest{SubprocessorId: "nobody"})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Get/case=invalid_id", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.GetSubprocessor(t.Context(), &registryv1.GetSubprocessorRequest{SubprocessorId: "x"})
		wantViolations(t, err, "subprocessor_id")
	})
}

func TestListSubprocessors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	active := registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE
	for _, spec := range []struct {
		id       string
		products []string
		status   registryv1.SubprocessorStatus
	}{
		{"zendesk", []string{"admin"}, active},
		{"aws", []string{"admin", "teacher"}, active},
		{"sendgrid", []string{"teacher"}, 0},
		{"mongodb", []string{"teacher"}, active},
	} {
		sp := validSubprocessor(spec.id)
		sp.Products = spec.products
		sp.Status = spec.status
		createSubprocessor(t, e, sp)
	}
	pages := func(t *testing.T, req *registryv1.ListSubprocessorsRequest) [][]string {
		t.Helper()
		var out [][]string
		for {
			resp := must[*registryv1.ListSubprocessorsResponse](t)(e.subprocessors.ListSubprocessors(t.Context(), req))
			var page []string
			for _, sp := range resp.GetSubprocessors() {
				page = append(page, sp.GetSubprocessorId())
			}
			out = append(out, page)
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}

	cases := []struct {
		name string
		req  *registryv1.ListSubprocessorsRequest
		want [][]string
	}{
		{"all_pages", &registryv1.ListSubprocessorsRequest{PageSize: 3}, [][]string{{"aws", "mongodb", "sendgrid"}, {"zendesk"}}},
		{"product", &registryv1.ListSubprocessorsRequest{Product: "teacher"}, [][]string{{"aws", "mongodb", "sendgrid"}}},
		{"status", &registryv1.ListSubprocessorsRequest{Status: active, PageSize: 2}, [][]string{{"aws", "mongodb"}, {"zendesk"}}},
		{"both", &registryv1.ListSubprocessorsRequest{Product: "teacher", Status: active, PageSize: 1}, [][]string{{"aws"}, {"mongodb"}}},
		{"no_match", &registryv1.ListSubprocessorsRequest{Product: "unknown-product"}, [][]string{nil}},
	}
	for _, tc := range cases {
		t.Run("method=List/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			if d := diff(tc.want, pages(t, tc.req)); d != "" {
				t.Fatal(d)
			}
		})
	}

	t.Run("method=List/case=invalid", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.ListSubprocessors(t.Context(), &registryv1.ListSubprocessorsRequest{
			PageSize: -5, Product: "Not A Product", Status: 12,
		})
		wantViolations(t, err, "page_size", "product", "status")
	})

	t.Run("method=List/case=token_with_other_filter", func(t *testing.T) {
		t.Parallel()
		resp := must[*registryv1.ListSubprocessorsResponse](t)(e.subprocessors.ListSubprocessors(t.Context(), &registryv1.ListSubprocessorsRequest{PageSize: 1}))
		_, err := e.subprocessors.ListSubprocessors(t.Context(), &registryv1.ListSubprocessorsRequest{
			PageSize: 1, PageToken: resp.GetNextPageToken(), Product: "admin",
		})
		wantViolations(t, err, "page_token")
	})
}
