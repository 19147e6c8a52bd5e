// Package authz decides what an authenticated caller may do. The
// permission table (table.go) maps every RPC to a permission and every role
// to its permissions; grpcx enforces it on every server right after
// authentication, so a denied call never reaches validation or a handler.
//
// Object-level scoping: roles in scopedRoles (customer success) see only
// the customers assigned to them (auth.Identity.Customers). Every
// customer_id / customer_ids field anywhere in a request must name an
// assigned customer; in the response, each resource (a top-level
// breachline message, or each element of a top-level list) must name at
// least one assigned customer — a single resource that does not is denied,
// list elements that do not are dropped (a list whose element type cannot
// name a customer, beside a visible single resource, is that resource's
// detail and is kept). Resources that carry no customer
// at all are hidden from scoped callers, so granting a scoped role a
// permission over such resources gives it nothing (fail closed); the
// global permissions are exempt from the response check.
package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
)

// Permission is a named capability, e.g. "incidents.read".
type Permission string

// Policy is a permission table.
type Policy struct {
	methods map[string]Permission
	grants  map[string]map[Permission]bool
	calls   map[string]map[string]bool // service role → the RPCs it may call
	global  map[Permission]bool
	scoped  map[string]bool
}

// Default returns the policy of table.go.
func Default() *Policy {
	p := &Policy{methods: methods, grants: map[string]map[Permission]bool{}, calls: map[string]map[string]bool{},
		global: global, scoped: scopedRoles}
	for role, perms := range roleGrants {
		p.grants[role] = map[Permission]bool{}
		for _, perm := range perms {
			p.grants[role][perm] = true
		}
	}
	for role, rpcs := range serviceCalls {
		p.calls[role] = map[string]bool{}
		for _, m := range rpcs {
			p.calls[role][m] = true
		}
	}
	return p
}

// Permission returns the permission method (a gRPC full method name) needs.
func (p *Policy) Permission(method string) (Permission, bool) {
	perm, ok := p.methods[method]
	return perm, ok
}

// Allows reports whether a caller with roles may call method and, if so,
// whether the call is scoped to the caller's customers.
func (p *Policy) Allows(roles []string, method string) (allowed, scoped bool) {
	perm, ok := p.methods[method]
	if !ok {
		return false, false
	}
	unscoped := false
	for _, r := range roles {
		if g := p.grants[r]; g["*"] || g[perm] || p.calls[r][method] {
			allowed = true
			unscoped = unscoped || !p.scoped[r]
		}
	}
	return allowed, allowed && !unscoped
}

// Authorize allows or denies a call; req is nil for streaming calls. A
// denial wraps apperr.ErrPermissionDenied (PERMISSION_DENIED, HTTP 403).
func (p *Policy) Authorize(ctx context.Context, method string, req any) error {
	id, _ := auth.FromContext(ctx)
	allowed, scoped := p.Allows(id.Roles, method)
	if !allowed {
		if _, known := p.methods[method]; !known {
			return fmt.Errorf("%s has no permission in the authorisation table: %w", method, apperr.ErrPermissionDenied)
		}
		return fmt.Errorf("%s needs permission %s, which roles [%s] do not grant: %w",
			method, p.methods[method], strings.Join(id.Roles, ","), apperr.ErrPermissionDenied)
	}
	if !scoped {
		return nil
	}
	m, ok := req.(proto.Message)
	if !ok {
		if p.global[p.methods[method]] {
			return nil
		}
		return fmt.Errorf("%s cannot be limited to your customers: %w", method, apperr.ErrPermissionDenied)
	}
	for _, c := range customerIDs(m.ProtoReflect(), nil) {
		if !slices.Contains(id.Customers, c) {
			return fmt.Errorf("customer %s is not assigned to you: %w", c, apperr.ErrPermissionDenied)
		}
	}
	return nil
}

// Filter removes from a response what a scoped caller may not see (see the
// package comment). It changes resp in place.
func (p *Policy) Filter(ctx context.Context, method string, resp any) error {
	id, _ := auth.FromContext(ctx)
	allowed, scoped := p.Allows(id.Roles, method)
	if !allowed || !scoped || p.global[p.methods[method]] {
		return nil
	}
	m, ok := resp.(proto.Message)
	if !ok {
		return nil
	}
	visible := func(r protoreflect.Message) bool {
		return slices.ContainsFunc(customerIDs(r, nil), func(c string) bool { return slices.Contains(id.Customers, c) })
	}
	var denied error
	r := m.ProtoReflect()
	// A list whose elements cannot name a customer at all (the differences
	// of a reproduced assessment) describes the single resource beside it:
	// it is kept when a visible single resource is in the response.
	single := false
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && isResource(fd.Message()) {
			single = true
		}
		return true
	})
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || !isResource(fd.Message()) || fd.IsMap() {
			return true
		}
		if fd.IsList() && single && !canNameCustomer(fd.Message(), nil) {
			return true
		}
		if !fd.IsList() {
			if !visible(v.Message()) {
				denied = fmt.Errorf("%s belongs to no customer assigned to you: %w", fd.Message().Name(), apperr.ErrPermissionDenied)
				return false
			}
			return true
		}
		list := v.List()
		kept := 0
		for i := range list.Len() {
			if e := list.Get(i); visible(e.Message()) {
				list.Set(kept, e)
				kept++
			}
		}
		list.Truncate(kept)
		return true
	})
	return denied
}

// isResource reports whether a message type is one of Breachline's own
// (timestamps, field masks and the like are not resources).
func isResource(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "breachline.")
}

// canNameCustomer reports whether messages of type md can hold a
// customer_id or customer_ids field anywhere inside them.
func canNameCustomer(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	if seen == nil {
		seen = map[protoreflect.FullName]bool{}
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.Name() == "customer_id" || fd.Name() == "customer_ids":
			return true
		case fd.IsMap():
			if v := fd.MapValue(); v.Kind() == protoreflect.MessageKind && canNameCustomer(v.Message(), seen) {
				return true
			}
		case fd.Kind() == protoreflect.MessageKind && canNameCustomer(fd.Message(), seen):
			return true
		}
	}
	return false
}

// customerIDs collects the values of every customer_id and customer_ids
// field set anywhere in m.
func customerIDs(m protoreflect.Message, out []string) []string {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "customer_id" && fd.Kind() == protoreflect.StringKind && !fd.IsList():
			out = append(out, v.String())
		case fd.Name() == "customer_ids" && fd.Kind() == protoreflect.StringKind && fd.IsList():
			for i := range v.List().Len() {
				out = append(out, v.List().Get(i).String())
			}
		case fd.Kind() != protoreflect.MessageKind:
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					out = customerIDs(mv.Message(), out)
					return true
				})
			}
		case fd.IsList():
			for i := range v.List().Len() {
				out = customerIDs(v.List().Get(i).Message(), out)
			}
		default:
			out = customerIDs(v.Message(), out)
		}
		return true
	})
	return out
}

// ApprovalRoles returns the capacities in which a caller holding roles may
// approve a campaign (see approvalRoles in table.go), sorted.
func ApprovalRoles(roles []string) []string {
	var out []string
	for capacity, holders := range approvalRoles {
		if slices.ContainsFunc(holders, func(r string) bool { return slices.Contains(roles, r) }) {
			out = append(out, capacity)
		}
	}
	slices.Sort(out)
	return out
}

// Methods returns every method in the table, sorted.
func (p *Policy) Methods() []string {
	out := make([]string, 0, len(p.methods))
	for m := range p.methods {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Roles returns every role, service identities included, sorted.
func (p *Policy) Roles() []string {
	out := make([]string, 0, len(p.grants)+len(p.calls))
	for r := range p.grants {
		out = append(out, r)
	}
	for r := range p.calls {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Markdown renders the table for people: one row per permission with the
// roles holding it and the RPCs needing it.
func (p *Policy) Markdown() string {
	byPerm := map[Permission][]string{}
	for m, perm := range p.methods {
		byPerm[perm] = append(byPerm[perm], m[strings.LastIndex(m, "/")+1:])
	}
	perms := make([]Permission, 0, len(byPerm))
	for perm := range byPerm {
		perms = append(perms, perm)
	}
	slices.Sort(perms)
	var b strings.Builder
	b.WriteString("| permission | roles | RPCs |\n|---|---|---|\n")
	for _, perm := range perms {
		var roles []string
		for _, r := range p.Roles() {
			if g := p.grants[r]; g[perm] || g["*"] {
				name := r
				if p.scoped[r] && !p.global[perm] {
					name += " (own customers)"
				}
				roles = append(roles, name)
			}
		}
		rpcs := byPerm[perm]
		slices.Sort(rpcs)
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", perm, strings.Join(roles, ", "), strings.Join(rpcs, ", "))
	}
	b.WriteString("\nService identities call exactly these RPCs and nothing else:\n\n| service role | RPCs |\n|---|---|\n")
	for _, r := range p.Roles() {
		if p.calls[r] == nil {
			continue
		}
		rpcs := make([]string, 0, len(p.calls[r]))
		for m := range p.calls[r] {
			rpcs = append(rpcs, strings.TrimPrefix(m[:strings.LastIndex(m, "/")], "/breachline.")+"/"+m[strings.LastIndex(m, "/")+1:])
		}
		slices.Sort(rpcs)
		fmt.Fprintf(&b, "| `%s` | %s |\n", r, strings.Join(rpcs, ", "))
	}
	b.WriteString("\nApproval roles (`ApproveCampaign`'s `role`) and the roles that hold them:\n\n| approval role | held by |\n|---|---|\n")
	capacities := make([]string, 0, len(approvalRoles))
	for c := range approvalRoles {
		capacities = append(capacities, c)
	}
	slices.Sort(capacities)
	for _, c := range capacities {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c, strings.Join(approvalRoles[c], ", "))
	}
	return b.String()
}
