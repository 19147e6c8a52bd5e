package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// Condition keys a rule's when/applies_if may test. Each is written "key"
// (a yes/no fact) or "key=value|value".
const (
	condRole                  = "role"
	condHIPAARole             = "hipaa_role"
	condNIS2Entity            = "nis2_entity"
	condSECRegistrant         = "sec_registrant"
	condMaterialityDetermined = "materiality_determined"
	condEmployeeNotification  = "employee_notification"
)

// conditionValues lists each key's values; nil means a yes/no fact.
var conditionValues = map[string][]string{
	condRole:                  {domain.RoleController, domain.RoleProcessor},
	condHIPAARole:             {domain.HIPAACoveredEntity, domain.HIPAABusinessAssociate},
	condNIS2Entity:            {domain.NIS2None, domain.NIS2Essential, domain.NIS2Important},
	condSECRegistrant:         nil,
	condMaterialityDetermined: nil,
	condEmployeeNotification:  {domain.EmployeesByCustomer, domain.EmployeesByProcessor, "unset"},
}

// condition is one parsed "key=value|value" test.
type condition struct {
	key    string
	values []string
	text   string
}

func parseConditions(ps *problems, path string, ss []string) []condition {
	out := make([]condition, 0, len(ss))
	for i, s := range ss {
		field := fmt.Sprintf("%s[%d]", path, i)
		key, vals, hasVals := strings.Cut(s, "=")
		known, ok := conditionValues[key]
		switch {
		case !ok:
			ps.add(field, "unknown condition %q", key)
			continue
		case known == nil && hasVals:
			ps.add(field, "%s is a yes/no fact and takes no value", key)
			continue
		case known != nil && !hasVals:
			ps.add(field, "%s needs a value: %s", key, strings.Join(known, "|"))
			continue
		}
		c := condition{key: key, text: s}
		if hasVals {
			c.values = strings.Split(vals, "|")
			for _, v := range c.values {
				if !slices.Contains(known, v) {
					ps.add(field, "%s has no value %q (known: %s)", key, v, strings.Join(known, "|"))
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// truth is a three-valued condition result: the role may be unknown.
type truth int

const (
	truthFalse truth = iota
	truthTrue
	truthUnknown
)

// eval tests c against the facts (and, for per-customer rules, the
// customer's terms).
func (c condition) eval(f domain.Facts, cust *domain.CustomerTerms) (truth, string) {
	is := func(v string) truth {
		if slices.Contains(c.values, v) {
			return truthTrue
		}
		return truthFalse
	}
	switch c.key {
	case condRole:
		if f.Role == "" {
			return truthUnknown, "our role (controller or processor) is not known; applies if " + c.text
		}
		return is(f.Role), "role is " + f.Role
	case condHIPAARole:
		return is(f.HIPAARole), "hipaa_role is " + orUnset(f.HIPAARole)
	case condNIS2Entity:
		return is(f.NIS2Entity), "nis2_entity is " + orUnset(f.NIS2Entity)
	case condSECRegistrant:
		return boolTruth(f.SECRegistrant), "sec_registrant is " + fmt.Sprint(f.SECRegistrant)
	case condMaterialityDetermined:
		if f.MaterialityDeterminedAt.IsZero() {
			return truthFalse, "the incident has not been determined to be material (materiality_determined_at unset)"
		}
		return truthTrue, "materiality determined"
	case condEmployeeNotification:
		if cust == nil {
			return truthFalse, "no customer"
		}
		return is(firstSet(cust.EmployeeNotification, "unset")), "the customer's employee_notification is " + firstSet(cust.EmployeeNotification, "unset")
	}
	return truthFalse, "unknown condition " + c.key
}

func boolTruth(b bool) truth {
	if b {
		return truthTrue
	}
	return truthFalse
}

func orUnset(s string) string { return firstSet(s, "unset") }

// evalAll combines conditions: false if any is false (with its reason),
// unknown if any is unknown, else true.
func evalAll(cs []condition, f domain.Facts, cust *domain.CustomerTerms) (truth, []string) {
	res := truthTrue
	var why []string
	for _, c := range cs {
		t, w := c.eval(f, cust)
		switch t {
		case truthFalse:
			return truthFalse, []string{"requires " + c.text + ", but " + w}
		case truthUnknown:
			res = truthUnknown
			why = append(why, w)
		}
	}
	return res, why
}
