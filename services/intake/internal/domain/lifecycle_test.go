package domain_test

import (
	"testing"

	"github.com/breachline/breachline/services/intake/internal/domain"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	const (
		rep = domain.IncidentStateReported
		tri = domain.IncidentStateTriage
		inv = domain.IncidentStateInvestigating
		con = domain.IncidentStateContained
		ntf = domain.IncidentStateNotifying
		cls = domain.IncidentStateClosed
	)
	allowed := map[[2]domain.IncidentState]bool{
		{rep, tri}: true,
		{tri, inv}: true, {tri, cls}: true,
		{inv, con}: true, {inv, ntf}: true, {inv, cls}: true,
		{con, ntf}: true, {con, cls}: true, {con, inv}: true,
		{ntf, cls}: true,
		{cls, inv}: true,
	}
	all := []domain.IncidentState{rep, tri, inv, con, ntf, cls}
	// Every pair of states, so that a transition added to the table without
	// being listed here (or removed from it) fails.
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]domain.IncidentState{from, to}]
			if got := domain.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if got := domain.CanTransition(domain.IncidentStateUnspecified, rep); got {
		t.Error("CanTransition(UNSPECIFIED, REPORTED) = true")
	}
}
