package domain

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
)

// Determination is what the investigation has established about one
// question; numbers equal breachline.intake.v1.Determination.
type Determination int32

// Determination values, as in the proto.
const (
	DeterminationUnspecified Determination = iota
	DeterminationYes
	DeterminationNo
)

// Valid reports whether d is defined (unspecified means "not yet known").
func (d Determination) Valid() bool { return d >= DeterminationUnspecified && d <= DeterminationNo }

// RecordsForm says whether compromised records were electronic or physical;
// numbers equal breachline.intake.v1.RecordsForm.
type RecordsForm int32

// RecordsForm values, as in the proto.
const (
	RecordsFormUnspecified RecordsForm = iota
	RecordsFormElectronic
	RecordsFormPhysical
	RecordsFormBoth
)

// Valid reports whether f is defined (unspecified means "not yet known").
func (f RecordsForm) Valid() bool { return f >= RecordsFormUnspecified && f <= RecordsFormBoth }

// Relationship is how affected individuals relate to the organisation;
// numbers equal breachline.intake.v1.Relationship.
type Relationship int32

// Relationship values, as in the proto.
const (
	RelationshipUnspecified Relationship = iota
	RelationshipAssociate
	RelationshipVendor
	RelationshipCustomer
	RelationshipOther
)

// Valid reports whether r is a defined, non-zero relationship.
func (r Relationship) Valid() bool { return r > RelationshipUnspecified && r <= RelationshipOther }

// Discovery is how, when and by whom the breach was discovered.
// DiscoveredAt is the one source of BreachFacts.DiscoveredAt.
type Discovery struct {
	DiscoveredAt time.Time `json:"discovered_at"`
	DiscoveredBy string    `json:"discovered_by"`
	How          string    `json:"how"`
}

// Intrusion is what is known about how the breach happened.
type Intrusion struct {
	Method             string   `json:"method"`
	EntryPoints        []string `json:"entry_points"`
	ExitPoints         []string `json:"exit_points"`
	Paths              []string `json:"paths"`
	CompromisedSystems []string `json:"compromised_systems"`
}

// DataImpact records whether data was deleted, modified or viewed.
type DataImpact struct {
	Deleted  Determination `json:"deleted"`
	Modified Determination `json:"modified"`
	Viewed   Determination `json:"viewed"`
}

// CompromisedData describes the compromised data. DataFields and
// EncryptedFields are the one source of BreachFacts.DataElements and
// EncryptedElements (see Incident.syncFacts).
type CompromisedData struct {
	Relationships   []Relationship `json:"relationships"`
	DataFields      []DataElement  `json:"data_fields"`
	EncryptedFields []DataElement  `json:"encrypted_fields"`
	RecordCount     int64          `json:"record_count"`
}

// IncidentRecord is what the "Accurate Record Keeping Required" section of
// the notification procedure asks to be recorded about a breach.
type IncidentRecord struct {
	OccurredStart         time.Time       `json:"occurred_start_time"`
	OccurredEnd           time.Time       `json:"occurred_end_time"`
	Location              string          `json:"location"`
	Discovery             Discovery       `json:"discovery"`
	Intrusion             Intrusion       `json:"intrusion"`
	DataImpact            DataImpact      `json:"data_impact"`
	PhysicalAssetsMissing []string        `json:"physical_assets_missing"`
	RecordsForm           RecordsForm     `json:"records_form"`
	CompromisedData       CompromisedData `json:"compromised_data"`
}

// Duration is how long the breach lasted, or zero while start or end is
// unknown.
func (r IncidentRecord) Duration() time.Duration {
	if r.OccurredStart.IsZero() || r.OccurredEnd.IsZero() {
		return 0
	}
	return r.OccurredEnd.Sub(r.OccurredStart)
}

// Limits on the record.
const (
	MaxLocationLen  = 512      // runes
	MaxDiscoveredBy = 256      // runes
	MaxHowBytes     = 16 << 10 // bytes
	MaxMethodBytes  = 4 << 10  // bytes
	MaxListEntries  = 100      // entries of each list
	MaxListEntryLen = 512      // runes
	MaxRecordCount  = 1 << 40  // records; a sanity bound
	MaxReasonLen    = 2048     // runes of a transition reason
	MaxNoteBytes    = 16 << 10 // bytes of a note
	MaxSummaryLen   = 1024     // runes of an entry summary
	MaxChanges      = 100      // changes in one appended entry
	MaxChangeValue  = 1024     // bytes of a rendered change value
	MaxChangeField  = 256      // bytes of a change's field path
	MaxRequestIDLen = 128      // bytes of an idempotency key
	MaxActionLen    = 128      // bytes of an action name
)

// checkRecord validates r under prefix ("incident.record") at time now.
func checkRecord(v *apperr.Violations, prefix string, r IncidentRecord, now time.Time) {
	if !r.OccurredStart.IsZero() {
		checkTime(v, prefix+".occurred_start_time", r.OccurredStart, now)
	}
	if !r.OccurredEnd.IsZero() {
		checkTime(v, prefix+".occurred_end_time", r.OccurredEnd, now)
		if !r.OccurredStart.IsZero() && r.OccurredEnd.Before(r.OccurredStart) {
			v.Add(prefix+".occurred_end_time", "must not be before occurred_start_time")
		}
	}
	checkMaxRunes(v, prefix+".location", r.Location, MaxLocationLen)
	if !r.Discovery.DiscoveredAt.IsZero() {
		checkTime(v, prefix+".discovery.discovered_at", r.Discovery.DiscoveredAt, now)
	}
	checkMaxRunes(v, prefix+".discovery.discovered_by", r.Discovery.DiscoveredBy, MaxDiscoveredBy)
	if len(r.Discovery.How) > MaxHowBytes {
		v.Add(prefix+".discovery.how", "must be at most %d bytes", MaxHowBytes)
	}
	if len(r.Intrusion.Method) > MaxMethodBytes {
		v.Add(prefix+".intrusion.method", "must be at most %d bytes", MaxMethodBytes)
	}
	checkList(v, prefix+".intrusion.entry_points", r.Intrusion.EntryPoints)
	checkList(v, prefix+".intrusion.exit_points", r.Intrusion.ExitPoints)
	checkList(v, prefix+".intrusion.paths", r.Intrusion.Paths)
	checkList(v, prefix+".intrusion.compromised_systems", r.Intrusion.CompromisedSystems)
	for _, d := range []struct {
		name string
		val  Determination
	}{{"deleted", r.DataImpact.Deleted}, {"modified", r.DataImpact.Modified}, {"viewed", r.DataImpact.Viewed}} {
		if !d.val.Valid() {
			v.Add(prefix+".data_impact."+d.name, "unknown determination %d", d.val)
		}
	}
	checkList(v, prefix+".physical_assets_missing", r.PhysicalAssetsMissing)
	if !r.RecordsForm.Valid() {
		v.Add(prefix+".records_form", "unknown records form %d", r.RecordsForm)
	}
	c := r.CompromisedData
	cp := prefix + ".compromised_data"
	seen := make(map[Relationship]int, len(c.Relationships))
	for i, rel := range c.Relationships {
		f := fmt.Sprintf("%s.relationships[%d]", cp, i)
		if !rel.Valid() {
			v.Add(f, "unknown or unspecified relationship %d", rel)
			continue
		}
		if j, dup := seen[rel]; dup {
			v.Add(f, "duplicates relationships[%d]", j)
			continue
		}
		seen[rel] = i
	}
	checkElements(v, cp, "data_fields", "encrypted_fields", c.DataFields, c.EncryptedFields)
	if c.RecordCount < 0 || c.RecordCount > MaxRecordCount {
		v.Add(cp+".record_count", "must be between 0 and %d", int64(MaxRecordCount))
	}
}

// checkElements validates a list of data elements and its encrypted subset.
func checkElements(v *apperr.Violations, prefix, dataName, encName string, data, enc []DataElement) {
	have := make(map[DataElement]int, len(data))
	for i, e := range data {
		field := fmt.Sprintf("%s.%s[%d]", prefix, dataName, i)
		if !e.Valid() {
			v.Add(field, "unknown or unspecified data element %d", e)
			continue
		}
		if j, dup := have[e]; dup {
			v.Add(field, "duplicates %s[%d]", dataName, j)
			continue
		}
		have[e] = i
	}
	encSeen := make(map[DataElement]int, len(enc))
	for i, e := range enc {
		field := fmt.Sprintf("%s.%s[%d]", prefix, encName, i)
		if !e.Valid() {
			v.Add(field, "unknown or unspecified data element %d", e)
			continue
		}
		if j, dup := encSeen[e]; dup {
			v.Add(field, "duplicates %s[%d]", encName, j)
			continue
		}
		encSeen[e] = i
		if _, ok := have[e]; !ok {
			v.Add(field, "must also be listed in %s", dataName)
		}
	}
}

func checkMaxRunes(v *apperr.Violations, field, s string, maxRunes int) {
	if utf8.RuneCountInString(s) > maxRunes {
		v.Add(field, "must be at most %d characters", maxRunes)
	}
}

func checkList(v *apperr.Violations, field string, list []string) {
	if len(list) > MaxListEntries {
		v.Add(field, "must have at most %d entries, has %d", MaxListEntries, len(list))
		return
	}
	for i, s := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch n := utf8.RuneCountInString(s); {
		case n == 0:
			v.Add(f, "must not be empty")
		case n > MaxListEntryLen:
			v.Add(f, "must be at most %d characters", MaxListEntryLen)
		}
	}
}

// Names of enum values as they appear in the proto (without the prefix),
// used to render field changes on the timeline.
var (
	severityNames      = []string{"UNSPECIFIED", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	incidentTypeNames  = []string{"UNSPECIFIED", "PERSONAL_INFORMATION_BREACH", "PORT_SCAN", "FIREWALL_BREACH", "VIRUS_OUTBREAK", "RANSOMWARE", "LOST_OR_STOLEN_DEVICE", "IMPROPER_DISPOSAL", "THIRD_PARTY"}
	stateNames         = []string{"UNSPECIFIED", "REPORTED", "TRIAGE", "INVESTIGATING", "CONTAINED", "NOTIFYING", "CLOSED"}
	assessmentNames    = []string{"UNSPECIFIED", "PENDING", "COMPLETED"}
	determinationNames = []string{"UNSPECIFIED", "YES", "NO"}
	recordsFormNames   = []string{"UNSPECIFIED", "ELECTRONIC", "PHYSICAL", "BOTH"}
	relationshipNames  = []string{"UNSPECIFIED", "ASSOCIATE", "VENDOR", "CUSTOMER", "OTHER"}
	dataElementNames   = []string{"UNSPECIFIED", "NAME", "SSN", "DRIVERS_LICENSE", "GOVERNMENT_ID", "PASSPORT",
		"FINANCIAL_ACCOUNT", "PAYMENT_CARD", "FINANCIAL_ACCESS_CODE", "PASSWORD", "ONLINE_CREDENTIALS",
		"HOME_ADDRESS", "EMAIL_ADDRESS", "MEDICAL", "HEALTH_INSURANCE", "BIOMETRIC", "DATE_OF_BIRTH",
		"PHONE_NUMBER", "TAX_ID"}
)

func enumName(names []string, n int32) string {
	if n >= 0 && int(n) < len(names) {
		return names[n]
	}
	return strconv.Itoa(int(n))
}

func (s Severity) String() string         { return enumName(severityNames, int32(s)) }
func (t IncidentType) String() string     { return enumName(incidentTypeNames, int32(t)) }
func (s IncidentState) String() string    { return enumName(stateNames, int32(s)) }
func (s AssessmentStatus) String() string { return enumName(assessmentNames, int32(s)) }
func (d Determination) String() string    { return enumName(determinationNames, int32(d)) }
func (f RecordsForm) String() string      { return enumName(recordsFormNames, int32(f)) }
func (r Relationship) String() string     { return enumName(relationshipNames, int32(r)) }
func (e DataElement) String() string      { return enumName(dataElementNames, int32(e)) }

// MarshalText renders enums by name in change values.
func (d Determination) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalText renders enums by name in change values.
func (f RecordsForm) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// MarshalText renders enums by name in change values.
func (r Relationship) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// MarshalText renders enums by name in change values.
func (e DataElement) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// renderJSON renders a value for a FieldChange; it never fails for the
// domain types it is used with.
func renderJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
