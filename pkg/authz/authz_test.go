package authz_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/authz"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	_ "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1" // registers DispatchService
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

// rpcs lists every method of every Breachline gRPC service compiled into
// pkg/gen, as gRPC full method names.
func rpcs() []string {
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "breachline.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	slices.Sort(out)
	return out
}

func TestEveryRPCHasAPermission(t *testing.T) {
	t.Parallel()
	p := authz.Default()
	var missing []string
	for _, m := range rpcs() {
		if _, ok := p.Permission(m); !ok {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d RPCs have no permission, so every caller is denied them. Add each to the methods map in "+
			"pkg/authz/table.go (and grant the permission to roles in roleGrants):\n\t%s",
			len(missing), strings.Join(missing, "\n\t"))
	}
	var stale []string
	all := rpcs()
	for _, m := range p.Methods() {
		if !slices.Contains(all, m) {
			stale = append(stale, m)
		}
	}
	if len(stale) > 0 {
		t.Errorf("pkg/authz/table.go names methods no service has (renamed or removed?):\n\t%s", strings.Join(stale, "\n\t"))
	}
}

func TestSIEMReportsButReadsNothing(t *testing.T) {
	t.Parallel()
	p := authz.Default()
	for _, m := range rpcs() {
		allowed, _ := p.Allows([]string{authz.RoleSIEM}, m)
		perm, _ := p.Permission(m)
		if allowed != (perm == "signals.report") {
			t.Errorf("siem allowed=%v for %s (%s); a SIEM may report signals and nothing else", allowed, m, perm)
		}
	}
}

func TestAuditorOnlyReads(t *testing.T) {
	t.Parallel()
	p := authz.Default()
	reads := []string{"Get", "List", "Verify", "Export", "Check", "Preview", "Reproduce"}
	for _, m := range rpcs() {
		name := m[strings.LastIndex(m, "/")+1:]
		allowed, _ := p.Allows([]string{authz.RoleAuditor}, m)
		isRead := slices.ContainsFunc(reads, func(prefix string) bool { return strings.HasPrefix(name, prefix) })
		if allowed && !isRead {
			t.Errorf("auditor may call %s, which is not a read", m)
		}
	}
}

func TestRolesAreKnown(t *testing.T) {
	t.Parallel()
	want := []string{"admin", "auditor", "communications", "customer_success", "executive", "legal", "officer", "responder",
		"service:classification", "service:dispatch", "service:intake", "service:registry", "siem"}
	if got := authz.Default().Roles(); !slices.Equal(got, want) {
		t.Fatalf("roles = %v, want %v", got, want)
	}
}

// TestServiceIdentities: each service may call exactly the RPCs its
// clients call, unscoped, and nothing else.
func TestServiceIdentities(t *testing.T) {
	t.Parallel()
	p := authz.Default()
	want := map[string][]string{
		authz.RoleServiceIntake: {
			"/breachline.classification.v1.ClassificationService/AssessIncident",
			"/breachline.dispatch.v1.DispatchService/SendNotice",
		},
		authz.RoleServiceClassification: {
			"/breachline.dispatch.v1.DispatchService/CreateDraftCampaigns",
			"/breachline.registry.v1.CustomerService/GetCustomer",
			"/breachline.registry.v1.SensitiveDataRemovalService/OpenRemovalRequest",
		},
		authz.RoleServiceRegistry: {
			"/breachline.dispatch.v1.DispatchService/ListCampaigns",
			"/breachline.dispatch.v1.DispatchService/ListDeliveries",
			"/breachline.dispatch.v1.DispatchService/SendNotice",
			"/breachline.intake.v1.IntakeService/ListIncidents",
		},
		authz.RoleServiceDispatch: {
			"/breachline.intake.v1.AffectedIndividualsService/ListAffectedIndividuals",
			"/breachline.intake.v1.IntakeService/AppendTimelineEntry",
		},
	}
	for role, calls := range want {
		t.Run("role="+role, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range rpcs() {
				allowed, scoped := p.Allows([]string{role}, m)
				if scoped {
					t.Errorf("%s is customer-scoped on %s", role, m)
				}
				if allowed {
					got = append(got, m)
				}
			}
			if !slices.Equal(got, calls) {
				t.Fatalf("%s may call\n\t%s\nwant\n\t%s", role, strings.Join(got, "\n\t"), strings.Join(calls, "\n\t"))
			}
		})
	}
}

func TestApprovalRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		roles []string
		want  []string
	}{
		{"legal", []string{authz.RoleLegal}, []string{"legal"}},
		{"executive", []string{authz.RoleExecutive}, []string{"executive_director"}},
		{"officer-and-responder", []string{authz.RoleOfficer, authz.RoleResponder}, []string{"loss_prevention", "officer", "security_coordinator"}},
		{"admin-approves-in-no-capacity", []string{authz.RoleAdmin}, nil},
		{"service", []string{authz.RoleServiceDispatch}, nil},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			t.Parallel()
			if got := authz.ApprovalRoles(tt.roles); !slices.Equal(got, tt.want) {
				t.Fatalf("ApprovalRoles(%v) = %v, want %v", tt.roles, got, tt.want)
			}
		})
	}
}

func as(id auth.Identity) context.Context { return auth.WithIdentity(context.Background(), id) }

func TestCustomerScoping(t *testing.T) {
	t.Parallel()
	p := authz.Default()
	cs := as(auth.Identity{Subject: "carol", Roles: []string{authz.RoleCustomerSuccess}, Customers: []string{"cus_mine"}})
	csAndLegal := as(auth.Identity{Subject: "dan", Roles: []string{authz.RoleCustomerSuccess, authz.RoleLegal}, Customers: []string{"cus_mine"}})
	const getCustomer = "/breachline.registry.v1.CustomerService/GetCustomer"
	const listCustomers = "/breachline.registry.v1.CustomerService/ListCustomers"
	const getIncident = "/breachline.intake.v1.IntakeService/GetIncident"
	const listRulePacks = "/breachline.classification.v1.ClassificationService/ListRulePacks"

	t.Run("method=Authorize/case=request-names-own-customer", func(t *testing.T) {
		t.Parallel()
		if err := p.Authorize(cs, getCustomer, &registryv1.GetCustomerRequest{CustomerId: "cus_mine"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("method=Authorize/case=request-names-foreign-customer", func(t *testing.T) {
		t.Parallel()
		err := p.Authorize(cs, getCustomer, &registryv1.GetCustomerRequest{CustomerId: "cus_other"})
		if !errors.Is(err, apperr.ErrPermissionDenied) {
			t.Fatalf("err = %v, want permission denied", err)
		}
	})
	t.Run("method=Authorize/case=nested-customer-ids", func(t *testing.T) {
		t.Parallel()
		req := &intakev1.UpdateIncidentRequest{Incident: &intakev1.Incident{CustomerIds: []string{"cus_mine", "cus_other"}}}
		if err := p.Authorize(csAndLegal, "/breachline.intake.v1.IntakeService/AddIncidentNote", req); err != nil {
			t.Fatalf("legal is not scoped: %v", err)
		}
		// customer success may not write incidents at all
		if err := p.Authorize(cs, "/breachline.intake.v1.IntakeService/UpdateIncident", req); !errors.Is(err, apperr.ErrPermissionDenied) {
			t.Fatalf("err = %v, want permission denied", err)
		}
	})
	t.Run("method=Filter/case=list-drops-foreign", func(t *testing.T) {
		t.Parallel()
		resp := &registryv1.ListCustomersResponse{Customers: []*registryv1.Customer{
			{CustomerId: "cus_other"}, {CustomerId: "cus_mine"}, {CustomerId: "cus_third"},
		}, NextPageToken: "next"}
		if err := p.Filter(cs, listCustomers, resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.GetCustomers()) != 1 || resp.GetCustomers()[0].GetCustomerId() != "cus_mine" || resp.GetNextPageToken() != "next" {
			t.Fatalf("filtered = %v", resp)
		}
	})
	t.Run("method=Filter/case=single-foreign-denied", func(t *testing.T) {
		t.Parallel()
		resp := &intakev1.GetIncidentResponse{Incident: &intakev1.Incident{IncidentId: "inc_1", CustomerIds: []string{"cus_other"}}}
		if err := p.Filter(cs, getIncident, resp); !errors.Is(err, apperr.ErrPermissionDenied) {
			t.Fatalf("err = %v, want permission denied", err)
		}
		resp.Incident.CustomerIds = append(resp.Incident.CustomerIds, "cus_mine")
		if err := p.Filter(cs, getIncident, resp); err != nil {
			t.Fatalf("incident shared with an assigned customer: %v", err)
		}
	})
	t.Run("method=Filter/case=resource-without-customer-hidden", func(t *testing.T) {
		t.Parallel()
		resp := &intakev1.GetIncidentResponse{Incident: &intakev1.Incident{IncidentId: "inc_1"}}
		if err := p.Filter(cs, getIncident, resp); !errors.Is(err, apperr.ErrPermissionDenied) {
			t.Fatalf("err = %v, want permission denied", err)
		}
		if err := p.Filter(csAndLegal, getIncident, resp); err != nil {
			t.Fatalf("unscoped role: %v", err)
		}
	})
	t.Run("method=Filter/case=global-permission-unfiltered", func(t *testing.T) {
		t.Parallel()
		resp := &classificationv1.ListRulePacksResponse{RulePacks: []*classificationv1.RulePackSummary{{}, {}}}
		if err := p.Filter(cs, listRulePacks, resp); err != nil || len(resp.GetRulePacks()) != 2 {
			t.Fatalf("rule packs filtered: %v, %d left", err, len(resp.GetRulePacks()))
		}
	})
	t.Run("method=Filter/case=details-of-a-visible-resource-kept", func(t *testing.T) {
		t.Parallel()
		const reproduce = "/breachline.classification.v1.ClassificationService/ReproduceAssessment"
		mine := &classificationv1.Assessment{CustomerTerms: []*classificationv1.CustomerTerms{{CustomerId: "cus_mine"}}}
		resp := &classificationv1.ReproduceAssessmentResponse{Assessment: mine,
			Differences: []*classificationv1.AssessmentDifference{{ObligationId: "us-tx.attorney-general", Field: "deadline"}}}
		if err := p.Filter(cs, reproduce, resp); err != nil || len(resp.GetDifferences()) != 1 {
			t.Fatalf("differences of my customer's assessment: %v, %d left", err, len(resp.GetDifferences()))
		}
		other := &classificationv1.ReproduceAssessmentResponse{
			Assessment:  &classificationv1.Assessment{CustomerTerms: []*classificationv1.CustomerTerms{{CustomerId: "cus_other"}}},
			Differences: []*classificationv1.AssessmentDifference{{Field: "deadline"}}}
		if err := p.Filter(cs, reproduce, other); !errors.Is(err, apperr.ErrPermissionDenied) {
			t.Fatalf("another customer's assessment: err = %v", err)
		}
	})
	t.Run("method=Authorize/case=unknown-method", func(t *testing.T) {
		t.Parallel()
		err := p.Authorize(as(auth.Identity{Roles: []string{authz.RoleAdmin}}), "/breachline.x.v1.X/Y", nil)
		if !errors.Is(err, apperr.ErrPermissionDenied) || !strings.Contains(err.Error(), "no permission in the authorisation table") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestReadmeRoleTable keeps the README's permission table equal to the
// policy. UPDATE_README=1 rewrites it.
func TestReadmeRoleTable(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- authz-table:begin -->\n", "<!-- authz-table:end -->"
	path := filepath.Join("..", "..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", begin, end)
	}
	want := authz.Default().Markdown()
	if got := readme[i+len(begin) : j]; got != want {
		if os.Getenv("UPDATE_README") == "1" {
			readme = readme[:i+len(begin)] + want + readme[j:]
			if err := os.WriteFile(path, []byte(readme), 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("README.md's role table is out of date; run UPDATE_README=1 go test ./authz -run TestReadmeRoleTable")
	}
}
