package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sources are, per deployable, the packages whose config structs it parses
// from the environment (relative to deploy/): its main package and the
// shared configuration it embeds.
var sources = map[string][]string{
	"intake":         {"../services/intake/cmd/intake", "../pkg/config", "../pkg/auth", "../pkg/tlsx"},
	"classification": {"../services/classification/cmd/classification", "../pkg/config", "../pkg/auth", "../pkg/tlsx"},
	"registry":       {"../services/registry/cmd/registry", "../pkg/config", "../pkg/auth", "../pkg/tlsx"},
	"dispatch":       {"../services/dispatch/cmd/dispatch", "../pkg/config", "../pkg/auth", "../pkg/tlsx"},
	"gateway":        {"../gateway/cmd/gateway", "../pkg/auth", "../pkg/tlsx"},
}

// defaultsSuffice lists the variables production may leave unset, each with
// why; "deployable/VAR" entries apply to one deployable. Any other variable
// a deployable reads must be set by the production manifests — a new
// setting fails TestEveryReadVariableIsConfigured until it is configured or
// listed here.
var defaultsSuffice = map[string]string{
	"OIDC_JWKS_URL":                          "found through the issuer's discovery document",
	"MACHINE_TOKENS_FILE":                    "alternative to MACHINE_TOKENS, which the Secret provides",
	"gateway/SERVICE_TOKEN":                  "the gateway calls as the person it serves; it has no token of its own",
	"RELAY_INTERVAL":                         "relay tuning; the default suits production",
	"RELAY_LEASE":                            "relay tuning; the default suits production",
	"intake/CORRELATION_KEYS":                "signal correlation policy; default asset,type",
	"intake/CORRELATION_WINDOW":              "signal correlation policy; default 1h",
	"intake/RESPONSE_INTERVAL":               "response opener tuning",
	"classification/RULE_PACKS_DIR":          "optional overrides; the versioned packs are built in",
	"classification/RULE_PACKS_POLL":         "only with RULE_PACKS_DIR",
	"registry/REMOVAL_WINDOW":                "contractual default (336h), documented in docs/architecture.md",
	"registry/REMOVAL_CHECK_INTERVAL":        "worker tuning",
	"registry/REMOVAL_NOTICE_INTERVAL":       "worker tuning",
	"registry/SUBPROCESSOR_OBJECTION_WINDOW": "contractual default (720h), documented in docs/architecture.md",
	"registry/SUBPROCESSOR_CHECK_REFRESH":    "cache tuning",
	"registry/SUBPROCESSOR_NOTICE_INTERVAL":  "worker tuning",
	"registry/HISTORY_SYNC_INTERVAL":         "worker tuning",
	"registry/DSR_FORWARD_INTERVAL":          "worker tuning",
	"registry/DSR_REMINDER_INTERVAL":         "worker tuning",
	"registry/DSR_REMINDER_WINDOW":           "contractual default (168h), documented in docs/architecture.md",
	"registry/DELETION_RETIRED_PUBLIC_KEYS":  "empty until the first signing-key rotation (docs/operations.md)",
	"dispatch/OUTBOX_DIR":                    "used only without SMTP_ADDR (development)",
	"dispatch/WEBHOOK_ENDPOINTS":             "optional per-endpoint secrets file; WEBHOOK_SECRET signs otherwise",
	"dispatch/WEBSITE_DIR":                   "optional; website notices are always artefacts",
	"dispatch/SUBSTITUTE_COST_USD":           "0 = the data file's thresholds",
	"dispatch/SUBSTITUTE_PERSONS":            "0 = the data file's thresholds",
	"dispatch/LETTER_COST_USD":               "0 = the data file's value",
	"dispatch/OUTBOX_WORKERS":                "outbox tuning",
	"dispatch/OUTBOX_FLUSH_EVERY":            "outbox tuning",
	"dispatch/OUTBOX_LEASE":                  "outbox tuning",
	"dispatch/NOTICE_LEASE":                  "operational-notice lease tuning",
	"dispatch/EMAIL_RATE_PER_SEC":            "0 = no pacing; set it to the SMTP relay's quota if it has one",
	"dispatch/ESCALATION_WINDOW":             "response policy default (24h)",
	"gateway/MAX_BODY_BYTES":                 "documented default (1 MiB)",
	"gateway/MAX_IMPORT_BYTES":               "documented default (1 GiB)",
	"gateway/GATEWAY_CALL_TIMEOUT":           "documented default (30s)",
	"gateway/GATEWAY_EXPORT_TIMEOUT":         "documented default (5m)",
	"gateway/CORS_ALLOWED_ORIGINS":           "empty = no browser origins, the safe default",
}

var envTag = regexp.MustCompile(`env:"([A-Z][A-Z0-9_]*)"`)

// readVariables returns the environment variables a deployable parses: the
// env tags of its config structs.
func readVariables(t *testing.T, deployable string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, dir := range sources[deployable] {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files in %s (%v)", deployable, dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range envTag.FindAllStringSubmatch(string(src), -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}

// containerEnv is what a Deployment's first container gets: its own env
// entries (with their references) and the keys of the ConfigMaps and
// Secrets it takes whole (envFrom).
type containerEnv struct {
	explicit map[string]any // name → the env entry
	fromMaps []string       // envFrom ConfigMap names
	fromSecs []string       // envFrom Secret names
}

func envOf(o object) containerEnv {
	c := list(o, "spec", "template", "spec", "containers")[0]
	ce := containerEnv{explicit: map[string]any{}}
	for _, e := range list(c, "env") {
		ce.explicit[str(e, "name")] = e
	}
	for _, f := range list(c, "envFrom") {
		if n := str(f, "configMapRef", "name"); n != "" {
			ce.fromMaps = append(ce.fromMaps, n)
		}
		if n := str(f, "secretRef", "name"); n != "" {
			ce.fromSecs = append(ce.fromSecs, n)
		}
	}
	return ce
}

// TestEveryReadVariableIsConfigured: in production every variable a
// deployable reads is set by its Deployment (directly, from the Secret, or
// from a ConfigMap it takes whole), unless defaultsSuffice says why the
// default is right; and every variable a Deployment sets is one the binary
// reads (a misspelt or stale name would be silently ignored).
func TestEveryReadVariableIsConfigured(t *testing.T) {
	t.Parallel()
	objs := render(t, "kustomize/overlays/production")
	maps := map[string]map[string]any{}
	for _, o := range objs {
		if kindOf(o) == "ConfigMap" {
			maps[nameOf(o)], _ = get(o, "data").(map[string]any)
		}
	}
	for _, o := range objs {
		if kindOf(o) != "Deployment" || !slices.Contains(deployables, nameOf(o)) {
			continue
		}
		d := nameOf(o)
		t.Run("deployable="+d, func(t *testing.T) {
			t.Parallel()
			read := readVariables(t, d)
			ce := envOf(o)
			set := map[string]bool{}
			for name := range ce.explicit {
				set[name] = true
				if !read[name] {
					t.Errorf("Deployment/%s sets %s, which %s does not read", d, name, d)
				}
			}
			for _, m := range ce.fromMaps {
				for k := range maps[m] {
					set[k] = true
				}
			}
			for v := range read {
				_, everywhere := defaultsSuffice[v]
				_, here := defaultsSuffice[d+"/"+v]
				if !set[v] && !everywhere && !here {
					t.Errorf("Deployment/%s does not set %s, which %s reads: set it in deploy/kustomize "+
						"(ConfigMap or Secret) or say in defaultsSuffice why its default is right", d, v, d)
				}
			}
		})
	}
	for key := range defaultsSuffice {
		d, v, scoped := strings.Cut(key, "/")
		if !scoped {
			continue
		}
		if _, ok := sources[d]; !ok {
			t.Errorf("defaultsSuffice names %s, not a deployable", key)
		} else if !readVariables(t, d)[v] {
			t.Errorf("defaultsSuffice lists %s, which %s no longer reads", key, d)
		}
	}
}

// TestEveryReferenceResolves: every ConfigMap a Deployment takes whole and
// every ConfigMap or Secret key it references exists — in the layouts that
// render them (base and dev). Production's Secret is made out of band, so
// there every key a Deployment references must be named in the overlay's
// instructions (kustomization.yaml's comment); a missing non-optional key
// would keep the pod from starting.
func TestEveryReferenceResolves(t *testing.T) {
	t.Parallel()
	instructions, err := os.ReadFile("kustomize/overlays/production/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range layouts {
		t.Run("layout="+dir, func(t *testing.T) {
			t.Parallel()
			objs := render(t, dir)
			data := map[string]map[string]any{} // "ConfigMap/name" or "Secret/name" → data
			for _, o := range objs {
				if k := kindOf(o); k == "ConfigMap" || k == "Secret" {
					data[k+"/"+nameOf(o)], _ = get(o, "data").(map[string]any)
					if data[k+"/"+nameOf(o)] == nil {
						data[k+"/"+nameOf(o)] = map[string]any{}
					}
				}
			}
			for _, o := range objs {
				if kindOf(o) != "Deployment" {
					continue
				}
				what := "Deployment/" + nameOf(o)
				ce := envOf(o)
				for _, m := range ce.fromMaps {
					if data["ConfigMap/"+m] == nil {
						t.Errorf("%s: envFrom ConfigMap/%s is not rendered", what, m)
					}
				}
				for name, e := range ce.explicit {
					for _, ref := range []struct{ kind, field string }{{"ConfigMap", "configMapKeyRef"}, {"Secret", "secretKeyRef"}} {
						r := get(e, "valueFrom", ref.field)
						if r == nil {
							continue
						}
						obj, key := ref.kind+"/"+str(r, "name"), str(r, "key")
						optional := get(r, "optional") == true
						switch {
						case data[obj] != nil:
							if _, ok := data[obj][key]; !ok && !optional {
								t.Errorf("%s: %s comes from %s key %s, which does not exist", what, name, obj, key)
							}
						case ref.kind == "Secret" && strings.HasSuffix(dir, "production"):
							if !strings.Contains(string(instructions), key) {
								t.Errorf("%s: %s comes from Secret key %s, which the production overlay's instructions do not name", what, name, key)
							}
						case ref.kind == "ConfigMap", !strings.HasSuffix(dir, "base"):
							t.Errorf("%s: %s comes from %s, which is not rendered", what, name, obj)
						}
					}
				}
			}
		})
	}
}
