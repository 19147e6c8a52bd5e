package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/authz"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	_ "github.com/breachline/breachline/pkg/gen/breachline/registry/v1" // the registry's services, for the matrix
)

// testIssuer is an OIDC issuer on loopback that the services fetch keys
// from, and that mints tokens for the test.
type testIssuer struct {
	srv *httptest.Server
	key jose.JSONWebKey
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: jose.JSONWebKey{Key: priv, KeyID: "e2e-1", Algorithm: string(jose.RS256), Use: "sig"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{is.key.Public()}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// token mints a person's access token.
func (is *testIssuer) token(t *testing.T, subject string, roles, customers []string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: is.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: is.srv.URL, Subject: subject, Audience: jwt.Audience{"breachline"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
	}).Claims(map[string]any{"roles": roles, "breachline_customers": customers}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

const (
	siemToken  = "e2e-siem-token-9b8a7c6d5e4f3a2b1c0d"
	myCustomer = "cus_mine"
	foreign    = "cus_foreign"
)

// serviceTokens are each service's own token, by its role.
var serviceTokens = map[string]string{
	authz.RoleServiceIntake:         "e2e-intake-token-4f1c2b7d9a0e3c5b8d6f",
	authz.RoleServiceClassification: "e2e-classification-token-7d9a0e3c5b8d",
	authz.RoleServiceRegistry:       "e2e-registry-token-0e3c5b8d6f4f1c2b7d",
	authz.RoleServiceDispatch:       "e2e-dispatch-token-5b8d6f4f1c2b7d9a0e",
}

// oidcStack starts the whole suite with AUTH_MODE=oidc against is; each
// service calls the others with its own token and role.
func oidcStack(t *testing.T, is *testIssuer) stack {
	t.Helper()
	s := newStack(t)
	tokens := []string{"siem:e2e siem " + auth.HashToken(siemToken)}
	for role, token := range serviceTokens {
		name := strings.TrimPrefix(role, auth.ServiceRolePrefix)
		tokens = append(tokens, "svc:"+name+" "+role+" "+auth.HashToken(token))
	}
	s.env = []string{
		"AUTH_MODE=oidc", "OIDC_ISSUER=" + is.srv.URL, "OIDC_AUDIENCE=breachline",
		"MACHINE_TOKENS=" + strings.Join(tokens, ";"),
	}
	s.envAt = map[string][]string{
		s.intake:         {"SERVICE_TOKEN=" + serviceTokens[authz.RoleServiceIntake]},
		s.classification: {"SERVICE_TOKEN=" + serviceTokens[authz.RoleServiceClassification]},
		s.registry:       {"SERVICE_TOKEN=" + serviceTokens[authz.RoleServiceRegistry]},
		s.dispatch:       {"SERVICE_TOKEN=" + serviceTokens[authz.RoleServiceDispatch]},
	}
	s.startStore(t)
	s.startDispatch(t)
	s.startRegistry(t)
	s.startClassification(t)
	s.startIntake(t)
	s.startGateway(t)
	return s
}

// caller is one row set of the matrix: a role and its credential.
type caller struct {
	name      string
	roles     []string
	token     string
	customers string // the customer id requests name
}

// call is how one RPC is reached: over REST when the gateway routes it,
// else over gRPC to its service.
type call struct {
	method  string // gRPC full method name
	md      protoreflect.MethodDescriptor
	verb    string
	path    string // template, e.g. /v1/customers/{customer_id}
	body    string
	hasCust bool // the request has a top-level customer_id
}

var pathParam = regexp.MustCompile(`\{([a-z_.]+)(=[^}]*)?\}`)

func calls(t *testing.T) []call {
	t.Helper()
	var out []call
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "breachline.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				c := call{method: "/" + string(sd.FullName()) + "/" + string(md.Name()), md: md}
				c.hasCust = md.Input().Fields().ByName("customer_id") != nil
				if rule, ok := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule); ok && rule != nil {
					switch p := rule.GetPattern().(type) {
					case *annotations.HttpRule_Get:
						c.verb, c.path = http.MethodGet, p.Get
					case *annotations.HttpRule_Post:
						c.verb, c.path = http.MethodPost, p.Post
					case *annotations.HttpRule_Put:
						c.verb, c.path = http.MethodPut, p.Put
					case *annotations.HttpRule_Patch:
						c.verb, c.path = http.MethodPatch, p.Patch
					case *annotations.HttpRule_Delete:
						c.verb, c.path = http.MethodDelete, p.Delete
					}
					c.body = rule.GetBody()
				}
				out = append(out, c)
			}
		}
		return true
	})
	slices.SortFunc(out, func(a, b call) int { return strings.Compare(a.method, b.method) })
	return out
}

// paramValue is a value of the right type for a path parameter, so the
// gateway can parse it and the call reaches the service.
func paramValue(md protoreflect.MessageDescriptor, path, customer string) string {
	var fd protoreflect.FieldDescriptor
	for name := range strings.SplitSeq(path, ".") {
		if md == nil {
			return "x"
		}
		fd = md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return "x"
		}
		md = fd.Message()
	}
	switch {
	case fd.Name() == "customer_id":
		return customer
	case fd.Kind() == protoreflect.EnumKind:
		return string(fd.Enum().Values().Get(fd.Enum().Values().Len() - 1).Name())
	case fd.Kind() == protoreflect.BoolKind:
		return "true"
	case fd.Kind() == protoreflect.StringKind, fd.Kind() == protoreflect.BytesKind:
		return "x"
	default:
		return "1"
	}
}

// outcome is what a caller got: denied (401/403 or UNAUTHENTICATED /
// PERMISSION_DENIED) or anything else, with a description for failures.
func (c call) viaREST(t *testing.T, base string, who caller) (denied bool, detail string, routed bool) {
	t.Helper()
	path := pathParam.ReplaceAllStringFunc(c.path, func(m string) string {
		return paramValue(c.md.Input(), pathParam.FindStringSubmatch(m)[1], who.customers)
	})
	var body io.Reader
	inPath := strings.Contains(c.path, "{customer_id}")
	switch {
	case c.body == "*" && c.hasCust && !inPath:
		body = strings.NewReader(fmt.Sprintf(`{"customerId":%q}`, who.customers))
	case c.body != "":
		body = strings.NewReader("{}")
	case c.hasCust && !inPath:
		path += "?customerId=" + who.customers
	}
	req, err := http.NewRequestWithContext(t.Context(), c.verb, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+who.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.verb, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusNotFound && strings.Contains(string(raw), `"message":"Not Found"`) {
		return false, "", false // the gateway has no route for it (yet)
	}
	denied = resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
	return denied, fmt.Sprintf("%s %s → %d %s", c.verb, path, resp.StatusCode, raw), true
}

func (c call) viaGRPC(ctx context.Context, conn *grpc.ClientConn, who caller) (denied bool, detail string) {
	in, err := protoregistry.GlobalTypes.FindMessageByName(c.md.Input().FullName())
	if err != nil {
		return false, err.Error()
	}
	req := in.New()
	if c.hasCust {
		req.Set(c.md.Input().Fields().ByName("customer_id"), protoreflect.ValueOfString(who.customers))
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(c.md.Output().FullName())
	if err != nil {
		return false, err.Error()
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+who.token)
	if c.md.IsStreamingClient() || c.md.IsStreamingServer() {
		desc := &grpc.StreamDesc{ClientStreams: c.md.IsStreamingClient(), ServerStreams: c.md.IsStreamingServer()}
		var st grpc.ClientStream
		st, err = conn.NewStream(ctx, desc, c.method)
		if err == nil {
			_ = st.CloseSend()
			err = st.RecvMsg(out.New().Interface())
		}
	} else {
		err = conn.Invoke(ctx, c.method, req.Interface(), out.New().Interface())
	}
	code := status.Code(err)
	if code == codes.Unimplemented && strings.Contains(status.Convert(err).Message(), "unknown service") {
		return false, errUnserved
	}
	return code == codes.Unauthenticated || code == codes.PermissionDenied, fmt.Sprintf("gRPC %s → %v", c.method, err)
}

// errUnserved marks an RPC whose service no server registers yet.
const errUnserved = "not served"

// TestAuthorizationMatrix walks every RPC of every service × every role
// (and a customer-success user naming a foreign customer) through the real
// gateway and services in AUTH_MODE=oidc, and fails on any allow or deny
// the permission table does not predict.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	is := newTestIssuer(t)
	s := oidcStack(t, is)
	base := "http://" + s.gateway
	conns := map[string]*grpc.ClientConn{
		"breachline.intake.v1": dial(t, s.intake), "breachline.classification.v1": dial(t, s.classification),
		"breachline.registry.v1": dial(t, s.registry), "breachline.dispatch.v1": dial(t, s.dispatch),
	}
	policy := authz.Default()

	var callers []caller
	for _, role := range policy.Roles() {
		c := caller{name: role, roles: []string{role}, customers: myCustomer}
		switch {
		case role == authz.RoleSIEM:
			c.token = siemToken
		case serviceTokens[role] != "":
			c.token = serviceTokens[role]
		default:
			c.token = is.token(t, role+"@example.org", []string{role}, []string{myCustomer})
		}
		callers = append(callers, c)
	}
	callers = append(callers,
		caller{name: "customer_success-foreign", roles: []string{authz.RoleCustomerSuccess}, customers: foreign,
			token: is.token(t, "cs@example.org", []string{authz.RoleCustomerSuccess}, []string{myCustomer})},
		caller{name: "no-roles", token: is.token(t, "nobody@example.org", nil, nil), customers: myCustomer})

	t.Run("case=no-credentials", func(t *testing.T) {
		t.Parallel()
		code, _ := httpDo(t, http.MethodGet, base+"/v1/incidents", nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("GET /v1/incidents without a token = %d, want 401", code)
		}
	})
	t.Run("case=forged-token", func(t *testing.T) {
		t.Parallel()
		other := newTestIssuer(t) // same issuer claims, other key
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/incidents", nil)
		tok := other.token(t, "mallory@example.org", []string{authz.RoleAdmin}, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token from another issuer = %d, want 401", resp.StatusCode)
		}
	})

	// The relays run on the services' own tokens: a SIEM's signal becomes an
	// assessment (intake → classification) and draft campaigns
	// (classification → dispatch), which intake's timeline records
	// (dispatch → intake).
	t.Run("case=relays-on-service-tokens", func(t *testing.T) {
		t.Parallel()
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+siemToken)
		rep, err := intakev1.NewIntakeServiceClient(conns["breachline.intake.v1"]).ReportSignal(ctx,
			breachSignal("evt-authz-relay", time.Now().UTC().Add(-time.Hour).Truncate(time.Second)))
		if err != nil {
			t.Fatalf("SIEM ReportSignal: %v", err)
		}
		id := rep.GetIncident().GetIncidentId()
		admin := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+is.token(t, "root@example.org", []string{authz.RoleAdmin}, nil))
		eventually(t, 60*time.Second, func(context.Context) error {
			r, err := dispatchv1.NewDispatchServiceClient(conns["breachline.dispatch.v1"]).ListCampaigns(admin,
				&dispatchv1.ListCampaignsRequest{IncidentId: id, PageSize: 500})
			if err != nil {
				return err
			}
			if len(r.GetCampaigns()) == 0 {
				return fmt.Errorf("no campaigns drafted for %s yet", id)
			}
			return nil
		})
		legal := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+is.token(t, "lee@example.org", []string{authz.RoleLegal}, nil))
		if _, err := dispatchv1.NewDispatchServiceClient(conns["breachline.dispatch.v1"]).PlaceHold(legal, &dispatchv1.PlaceHoldRequest{
			RequestId: "authz-hold-1", Hold: &dispatchv1.Hold{IncidentId: id, RequestedBy: "FBI", Reason: "investigation"}}); err != nil {
			t.Fatalf("PlaceHold: %v", err)
		}
		eventually(t, 60*time.Second, func(context.Context) error {
			r, err := intakev1.NewIntakeServiceClient(conns["breachline.intake.v1"]).ListTimeline(admin,
				&intakev1.ListTimelineRequest{IncidentId: id, PageSize: 500})
			if err != nil {
				return err
			}
			for _, e := range r.GetEntries() {
				if strings.HasPrefix(e.GetAction(), "dispatch.hold") {
					return nil
				}
			}
			return fmt.Errorf("no hold on the timeline of %s yet", id)
		})
	})

	var unrouted, unserved []string
	for _, c := range calls(t) {
		pkg := c.method[1:strings.LastIndex(c.method[:strings.LastIndex(c.method, "/")], ".")]
		for _, who := range callers {
			if who.customers == foreign && !c.hasCust {
				continue // the foreign-customer row only matters where a request names one
			}
			allowed, scoped := policy.Allows(who.roles, c.method)
			wantDenied := !allowed || (scoped && who.customers == foreign)
			var denied, routed bool
			var detail string
			if c.path != "" {
				denied, detail, routed = c.viaREST(t, base, who)
			}
			if !routed {
				if c.path != "" && who.name == authz.RoleAdmin {
					unrouted = append(unrouted, c.method)
				}
				denied, detail = c.viaGRPC(t.Context(), conns[pkg], who)
			}
			if detail == errUnserved {
				if who.name == authz.RoleAdmin {
					unserved = append(unserved, c.method)
				}
				continue
			}
			if denied != wantDenied {
				t.Errorf("method=%s role=%s: denied=%v, table says denied=%v\n\t%s", c.method, who.name, denied, wantDenied, detail)
			}
		}
	}
	if len(unserved) > 0 {
		t.Logf("RPCs no server registers yet (not checked):\n\t%s", strings.Join(unserved, "\n\t"))
	}
	if len(unrouted) > 0 {
		t.Logf("RPCs with an HTTP rule the gateway does not route yet (checked over gRPC):\n\t%s", strings.Join(unrouted, "\n\t"))
	}
}

// TestDevModeRefusesPublicBind starts a service in dev mode on every
// interface: it must refuse to start.
func TestDevModeRefusesPublicBind(t *testing.T) {
	t.Parallel()
	for _, bin := range []string{"intake", "gateway"} {
		t.Run("binary="+bin, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binaries(t), bin))
			cmd.Env = []string{"AUTH_MODE=dev", "LISTEN_ADDR=0.0.0.0:0", "HTTP_ADDR=0.0.0.0:0", "MONGODB_URI=mongodb://127.0.0.1:1/"}
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "only listens on loopback") {
				t.Fatalf("%s in dev mode on 0.0.0.0: err=%v, output:\n%s", bin, err, out)
			}
		})
	}
}
