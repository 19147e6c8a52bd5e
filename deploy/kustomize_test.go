// Package deploy_test renders the Kubernetes manifests with the kustomize Go
// module (the same engine as `kubectl kustomize`) and checks the properties
// operators rely on: probes, resources, locked-down security contexts, pinned
// images, one Service/ServiceAccount/PDB/HPA per deployable, and network
// policies that allow exactly the calls the architecture makes.
package deploy_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// object is one rendered manifest as generic maps.
type object = map[string]any

func kindOf(o object) string { return str(o, "kind") }
func nameOf(o object) string { return str(o, "metadata", "name") }

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func str(m any, path ...string) string { s, _ := get(m, path...).(string); return s }

func list(m any, path ...string) []any { l, _ := get(m, path...).([]any); return l }

func render(t *testing.T, dir string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []object
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

var deployables = []string{"intake", "classification", "registry", "dispatch", "gateway"}

var layouts = []string{"kustomize/base", "kustomize/overlays/dev", "kustomize/overlays/production"}

func TestWorkloadsAreHardened(t *testing.T) {
	t.Parallel()
	for _, dir := range layouts {
		t.Run("layout="+dir, func(t *testing.T) {
			t.Parallel()
			for _, o := range render(t, dir) {
				if kindOf(o) != "Deployment" && kindOf(o) != "StatefulSet" {
					continue
				}
				checkPod(t, kindOf(o)+"/"+nameOf(o), get(o, "spec", "template", "spec"))
			}
		})
	}
}

func checkPod(t *testing.T, what string, pod any) {
	t.Helper()
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", what)
	}
	if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault", what)
	}
	for _, c := range list(pod, "containers") {
		name := what + "/" + str(c, "name")
		image := str(c, "image")
		tag := image[strings.LastIndex(image, ":")+1:]
		if !strings.Contains(image, ":") || tag == "latest" || strings.Contains(tag, "/") {
			t.Errorf("%s: image %q must carry a pinned tag, not latest", name, image)
		}
		for _, probe := range []string{"readinessProbe", "livenessProbe"} {
			if get(c, probe) == nil {
				t.Errorf("%s: no %s", name, probe)
			}
		}
		for _, r := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if get(c, "resources", r, res) == nil {
					t.Errorf("%s: no resources.%s.%s", name, r, res)
				}
			}
		}
		if get(c, "securityContext", "allowPrivilegeEscalation") != false {
			t.Errorf("%s: allowPrivilegeEscalation is not false", name)
		}
		if get(c, "securityContext", "readOnlyRootFilesystem") != true {
			t.Errorf("%s: readOnlyRootFilesystem is not true", name)
		}
		if !slices.Contains(list(c, "securityContext", "capabilities", "drop"), any("ALL")) {
			t.Errorf("%s: capabilities do not drop ALL", name)
		}
	}
}

func TestEveryDeployableHasItsObjects(t *testing.T) {
	t.Parallel()
	for _, dir := range layouts {
		t.Run("layout="+dir, func(t *testing.T) {
			t.Parallel()
			have := map[string]bool{}
			for _, o := range render(t, dir) {
				have[kindOf(o)+"/"+nameOf(o)] = true
				if kindOf(o) == "Deployment" && slices.Contains(deployables, nameOf(o)) && nameOf(o) != "gateway" {
					c := list(o, "spec", "template", "spec", "containers")[0]
					if get(c, "readinessProbe", "grpc") == nil || get(c, "livenessProbe", "grpc") == nil {
						t.Errorf("Deployment/%s: gRPC services must use gRPC health probes", nameOf(o))
					}
				}
			}
			for _, d := range deployables {
				for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} {
					if !have[kind+"/"+d] {
						t.Errorf("%s: no %s/%s", dir, kind, d)
					}
				}
			}
			if !have["NetworkPolicy/default-deny"] {
				t.Errorf("%s: no default-deny NetworkPolicy", dir)
			}
		})
	}
}

// allowedCalls is the architecture's call graph (docs/architecture.md).
var allowedCalls = map[string][]string{
	"gateway":        {"classification", "dispatch", "intake", "registry"},
	"intake":         {"classification", "dispatch"},
	"classification": {"dispatch", "registry"},
	"dispatch":       {"intake", "registry"},
	"registry":       {"dispatch", "intake"},
}

// TestNetworkPoliciesMatchTheCallGraph derives, from the rendered policies,
// which deployable may call which on port 8080 (egress of the caller AND
// ingress of the callee) and compares it with the call graph.
func TestNetworkPoliciesMatchTheCallGraph(t *testing.T) {
	t.Parallel()
	egress := map[string][]string{}
	ingress := map[string][]string{}
	for _, o := range render(t, "kustomize/base") {
		if kindOf(o) != "NetworkPolicy" || !slices.Contains(deployables, nameOf(o)) {
			continue
		}
		self := str(o, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name")
		for _, rule := range list(o, "spec", "egress") {
			for _, peer := range list(rule, "to") {
				egress[self] = append(egress[self], peers(peer)...)
			}
		}
		for _, rule := range list(o, "spec", "ingress") {
			for _, peer := range list(rule, "from") {
				ingress[self] = append(ingress[self], peers(peer)...)
			}
		}
	}
	for caller, want := range allowedCalls {
		got := sorted(egress[caller])
		if fmt.Sprint(got) != fmt.Sprint(sorted(want)) {
			t.Errorf("%s may call %v by its egress policy, want %v", caller, got, want)
		}
		for _, callee := range want {
			if !slices.Contains(ingress[callee], caller) {
				t.Errorf("%s's ingress policy does not admit %s", callee, caller)
			}
		}
	}
	for callee, callers := range ingress {
		for _, caller := range callers {
			if !slices.Contains(allowedCalls[caller], callee) {
				t.Errorf("%s admits %s, which the architecture never has call it", callee, caller)
			}
		}
	}
}

func peers(peer any) []string {
	if n := str(peer, "podSelector", "matchLabels", "app.kubernetes.io/name"); n != "" {
		return []string{n}
	}
	var out []string
	for _, e := range list(peer, "podSelector", "matchExpressions") {
		if str(e, "key") == "app.kubernetes.io/name" && str(e, "operator") == "In" {
			for _, v := range list(e, "values") {
				out = append(out, v.(string))
			}
		}
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestProductionOverlay(t *testing.T) {
	t.Parallel()
	for _, o := range render(t, "kustomize/overlays/production") {
		switch kindOf(o) {
		case "Secret":
			t.Errorf("production renders Secret/%s: secrets must be provided out of band, never committed", nameOf(o))
		case "ConfigMap":
			if nameOf(o) == "breachline-config" && str(o, "data", "MONGODB_REQUIRE_MAJORITY") != "true" {
				t.Error("production does not require majority writes")
			}
			if nameOf(o) == "breachline-config" && str(o, "data", "AUTH_MODE") != "oidc" {
				t.Error("production does not authenticate callers (AUTH_MODE must be oidc)")
			}
		case "Deployment":
			if slices.Contains(deployables, nameOf(o)) {
				if r, _ := get(o, "spec", "replicas").(int); r < 3 {
					t.Errorf("Deployment/%s: %d replicas in production, want >= 3", nameOf(o), r)
				}
			}
		}
	}
}

// TestProductionEncryptsServiceCalls checks that production turns on mutual
// TLS between the services (and from the gateway) from a mounted Secret,
// that the gRPC probes use the plaintext health listener (Kubernetes' gRPC
// probes cannot speak TLS), and that the dev overlay stays plaintext.
func TestProductionEncryptsServiceCalls(t *testing.T) {
	t.Parallel()
	const mount = "/etc/breachline/tls"
	for _, o := range render(t, "kustomize/overlays/production") {
		switch {
		case kindOf(o) == "ConfigMap" && nameOf(o) == "breachline-config":
			for k, want := range map[string]string{
				"GRPC_TLS_CERT_FILE": mount + "/tls.crt", "GRPC_TLS_KEY_FILE": mount + "/tls.key",
				"GRPC_TLS_CA_FILE": mount + "/ca.crt", "GRPC_TLS_REQUIRE_CLIENT_CERT": "true", "HEALTH_ADDR": "0.0.0.0:8086",
			} {
				if got := str(o, "data", k); got != want {
					t.Errorf("ConfigMap %s = %q, want %q", k, got, want)
				}
			}
		case kindOf(o) == "Deployment" && slices.Contains(deployables, nameOf(o)):
			what := "Deployment/" + nameOf(o)
			pod := get(o, "spec", "template", "spec")
			secret := ""
			for _, v := range list(pod, "volumes") {
				if str(v, "name") == "grpc-tls" {
					secret = str(v, "secret", "secretName")
				}
			}
			if secret != "breachline-grpc-tls" {
				t.Errorf("%s: no grpc-tls volume from Secret breachline-grpc-tls", what)
			}
			c := list(pod, "containers")[0]
			mounted := slices.ContainsFunc(list(c, "volumeMounts"), func(m any) bool {
				return str(m, "name") == "grpc-tls" && str(m, "mountPath") == mount && get(m, "readOnly") == true
			})
			if !mounted {
				t.Errorf("%s: grpc-tls not mounted read-only at %s", what, mount)
			}
			if nameOf(o) == "gateway" {
				continue
			}
			if !slices.ContainsFunc(list(c, "ports"), func(p any) bool { return get(p, "containerPort") == 8086 }) {
				t.Errorf("%s: no container port 8086 for the health listener", what)
			}
			for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				if port := get(c, probe, "grpc", "port"); port != 8086 {
					t.Errorf("%s: %s probes port %v, want the plaintext health port 8086", what, probe, port)
				}
			}
		}
	}
	for _, o := range render(t, "kustomize/overlays/dev") {
		if kindOf(o) == "ConfigMap" && str(o, "data", "GRPC_TLS_CERT_FILE") != "" {
			t.Errorf("dev ConfigMap/%s sets GRPC_TLS_CERT_FILE; the dev cluster is plaintext", nameOf(o))
		}
	}
}
