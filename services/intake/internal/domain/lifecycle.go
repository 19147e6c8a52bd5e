package domain

import (
	"slices"
	"strings"
)

// transitions is the incident lifecycle: for each state, the states it may
// move to. The main line is REPORTED → TRIAGE → INVESTIGATING → CONTAINED →
// NOTIFYING → CLOSED. The extras each answer a real case:
//
//   - TRIAGE → CLOSED: triage finds a false positive or a duplicate;
//   - INVESTIGATING → CLOSED: the investigation finds no breach;
//   - INVESTIGATING → NOTIFYING: statutory clocks run from discovery, not
//     from containment, so notices may have to go out first;
//   - CONTAINED → CLOSED: contained, and no notice is owed;
//   - CONTAINED → INVESTIGATING: containment turned out incomplete;
//   - CLOSED → INVESTIGATING: reopened on new evidence.
//
// There are no self-transitions and nothing returns to REPORTED or TRIAGE.
var transitions = map[IncidentState][]IncidentState{
	IncidentStateReported:      {IncidentStateTriage},
	IncidentStateTriage:        {IncidentStateInvestigating, IncidentStateClosed},
	IncidentStateInvestigating: {IncidentStateContained, IncidentStateNotifying, IncidentStateClosed},
	IncidentStateContained:     {IncidentStateNotifying, IncidentStateClosed, IncidentStateInvestigating},
	IncidentStateNotifying:     {IncidentStateClosed},
	IncidentStateClosed:        {IncidentStateInvestigating},
}

// NextStates returns the states an incident in state s may move to.
func NextStates(s IncidentState) []IncidentState {
	return slices.Clone(transitions[s])
}

// CanTransition reports whether the lifecycle allows from → to.
func CanTransition(from, to IncidentState) bool {
	return slices.Contains(transitions[from], to)
}

func stateList(states []IncidentState) string {
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}
