package validate_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/breachline/breachline/pkg/apperr"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/validate"
)

func TestRequired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  proto.Message
		want []string
	}{
		{"case=all missing", &registryv1.CheckSubprocessorRequest{}, []string{"subprocessor_id", "product", "region"}},
		{"case=complete", &registryv1.CheckSubprocessorRequest{SubprocessorId: "acme", Product: "admin", Region: registryv1.Region_REGION_EU_EEA_CH}, nil},
		{"case=nested missing", &registryv1.CreateSubprocessorRequest{Subprocessor: &registryv1.Subprocessor{LegalName: "Acme"}},
			[]string{"subprocessor.country", "subprocessor.purpose"}},
		{"case=nested unset", &registryv1.CreateSubprocessorRequest{}, []string{"subprocessor"}},
		{"case=update mask skips the resource", &registryv1.UpdateSubprocessorRequest{
			Subprocessor: &registryv1.Subprocessor{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"purpose"}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run("method=Required/"+tt.name, func(t *testing.T) {
			t.Parallel()
			// Twice: the second call answers from the cached field rules.
			for range 2 {
				var got []string
				if ie, ok := apperr.AsInvalid(validate.Required(tt.msg)); ok {
					for _, v := range ie.Violations {
						got = append(got, v.Field)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("violations = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func BenchmarkRequired(b *testing.B) {
	req := &registryv1.CheckSubprocessorRequest{SubprocessorId: "acme", Product: "admin", Region: registryv1.Region_REGION_EU_EEA_CH}
	b.ReportAllocs()
	for b.Loop() {
		if err := validate.Required(req); err != nil {
			b.Fatal(err)
		}
	}
}
