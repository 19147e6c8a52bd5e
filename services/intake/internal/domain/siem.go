package domain

import (
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// SiemFormat is the format of a payload given to IngestSiemPayload; numbers
// equal breachline.intake.v1.SiemFormat.
type SiemFormat int32

// SiemFormat values, as in the proto.
const (
	SiemFormatUnspecified SiemFormat = iota
	SiemFormatOCSF
	SiemFormatECS
	SiemFormatSplunkWebhook
	SiemFormatElasticWebhook
	SiemFormatSentinelWebhook
)

// Valid reports whether f is a defined, non-zero format.
func (f SiemFormat) Valid() bool { return f > SiemFormatUnspecified && f <= SiemFormatSentinelWebhook }

// String is the format's name in violations.
func (f SiemFormat) String() string {
	switch f {
	case SiemFormatOCSF:
		return "OCSF"
	case SiemFormatECS:
		return "ECS"
	case SiemFormatSplunkWebhook:
		return "the Splunk webhook"
	case SiemFormatElasticWebhook:
		return "the Elastic webhook"
	case SiemFormatSentinelWebhook:
		return "the Sentinel webhook"
	}
	return "format " + strconv.Itoa(int(f))
}

// OCSF finding classes accepted by the OCSF mapping.
const (
	OCSFDetectionFinding    = 2004
	OCSFIncidentFinding     = 2005
	OCSFDataSecurityFinding = 2006
)

var ocsfClassNames = map[string]int{
	"detection finding":     OCSFDetectionFinding,
	"incident finding":      OCSFIncidentFinding,
	"data security finding": OCSFDataSecurityFinding,
}

// MapSiemPayload maps one SIEM payload to the signal it reports, pure and
// without I/O. now is the receive time (the observed time of a Splunk
// result without _time). On failure it returns every violation found, each
// naming the JSON path at fault ("payload.finding_info.uid"). The signal
// still has to pass ValidateSignal; origin maps its fields ("signal.title")
// to the payload path they were taken from, so those violations can name
// the JSON path too.
//
// Field choices, per format (the first present path wins):
//
// OCSF (class_uid 2004 Detection Finding, 2005 Incident Finding, 2006 Data
// Security Finding; or the same class_name): source_event_id
// finding_info.uid, metadata.uid; title finding_info.title, message,
// finding_info_list[0].title; description finding_info.desc, desc;
// observed_at time (epoch ms), time_dt; severity severity_id (1
// informational, 2 low, 3 medium, 4 high, 5 critical, 6 fatal → critical;
// 0 unknown and 99 other → unspecified); asset device.hostname, device.name,
// resources[0].name, resources[0].uid. A Data Security Finding, or any
// finding with data_security, is a personal information breach.
//
// ECS alert: source_event_id kibana.alert.uuid, event.id; title
// kibana.alert.rule.name, rule.name, message; description message (unless
// it is the title), kibana.alert.reason, rule.description; observed_at
// @timestamp; severity kibana.alert.severity, kibana.alert.rule.severity,
// event.severity when a word (a number's scale is the source's own, so it
// is ignored); asset host.name, host.hostname. Dotted keys may be nested or
// flattened.
//
// Elastic webhook: one ECS alert document, or {"alerts": [alert]} as a
// Kibana rule action sends with {{context.alerts}}; more than one alert per
// call is rejected (send one per call), so every alert gets its own answer.
//
// Splunk webhook ({"sid", "search_name", "result", "results_link", "app",
// "owner"}): source_event_id sid, plus ":" and result._cd when the alert
// fires per result; title search_name; observed_at result._time (epoch
// seconds) or the receive time; severity result.severity, result.urgency;
// asset result.host, result.dest.
//
// Sentinel webhook: an incident ({"properties": {...}}, possibly under
// "object" as an automation rule sends it): source_event_id
// properties.incidentNumber, properties.providerIncidentId, name; title
// properties.title; description properties.description; observed_at
// properties.firstActivityTimeUtc, properties.createdTimeUtc; severity
// properties.severity; asset the hostName of the first Host entity in
// properties.relatedEntities. Or a SecurityAlert row: source_event_id
// SystemAlertId; title AlertName; description Description; observed_at
// StartTime, TimeGenerated; severity Severity; asset CompromisedEntity.
//
// Every format keeps the parsed payload as the signal's raw.
func MapSiemPayload(f SiemFormat, source string, data []byte, now time.Time) (Signal, map[string]string, apperr.Violations) {
	var v apperr.Violations
	if !f.Valid() {
		v.Add("format", "must be one of OCSF, ECS, SPLUNK_WEBHOOK, ELASTIC_WEBHOOK or SENTINEL_WEBHOOK")
		return Signal{}, nil, v
	}
	if len(data) == 0 {
		v.Add("payload", "is required: the SIEM's JSON alert")
		return Signal{}, nil, v
	}
	obj, ok := decodeObject(data, &v)
	if !ok {
		return Signal{}, nil, v
	}
	d := &jsonDoc{obj: obj, prefix: "payload", v: &v, origin: map[string]string{}}
	s := Signal{Source: source}
	switch f {
	case SiemFormatOCSF:
		mapOCSF(d, &s)
	case SiemFormatECS:
		mapECS(d, &s, f)
	case SiemFormatElasticWebhook:
		mapElasticWebhook(d, &s)
	case SiemFormatSplunkWebhook:
		mapSplunk(d, &s, now)
	case SiemFormatSentinelWebhook:
		mapSentinel(d, &s)
	}
	if len(v) > 0 {
		return Signal{}, nil, v
	}
	s.Raw = obj
	return s, d.origin, nil
}

func mapOCSF(d *jsonDoc, s *Signal) {
	class := 0
	if val, ok := d.lookup("class_uid"); ok {
		n, isNum := val.(float64)
		if !isNum {
			d.v.Add(d.path("class_uid"), "must be a number, is %s", jsonKind(val))
			return
		}
		class = int(n)
	} else if name, from := d.str("class_name"); from != "" {
		class = ocsfClassNames[strings.ToLower(strings.TrimSpace(name))]
		if class == 0 {
			d.v.Add(from, "must be Detection Finding, Incident Finding or Data Security Finding")
			return
		}
	}
	switch class {
	case OCSFDetectionFinding, OCSFIncidentFinding, OCSFDataSecurityFinding:
	case 0:
		d.v.Add(d.path("class_uid"), "is required for OCSF: 2004 (Detection Finding), 2005 (Incident Finding) or 2006 (Data Security Finding)")
		return
	default:
		d.v.Add(d.path("class_uid"), "must be 2004 (Detection Finding), 2005 (Incident Finding) or 2006 (Data Security Finding), is %d", class)
		return
	}
	var from string
	s.SourceEventID, from = d.required("OCSF", "finding_info.uid", "metadata.uid")
	d.set("source_event_id", from)
	s.Title, from = d.str("finding_info.title", "message")
	if from == "" {
		s.Title, from = firstListTitle(d)
	}
	if from == "" && !d.hasViolationOn([]string{"finding_info.title", "message"}) {
		d.v.Add(d.path("finding_info.title"), "is required for OCSF (or payload.message)")
	}
	d.set("title", from)
	s.Description, from = d.str("finding_info.desc", "desc")
	d.set("description", from)
	s.ObservedAt, from = d.epoch("time", time.Millisecond)
	if from == "" {
		s.ObservedAt, from = d.rfc3339("time_dt")
	}
	if from == "" && !d.hasViolationOn([]string{"time", "time_dt"}) {
		d.v.Add(d.path("time"), "is required for OCSF: the finding time in Unix milliseconds")
	}
	d.set("observed_at", from)
	if val, ok := d.lookup("severity_id"); ok {
		n, isNum := val.(float64)
		switch {
		case !isNum:
			d.v.Add(d.path("severity_id"), "must be a number, is %s", jsonKind(val))
		case n == 0 || n == 99:
		case n >= 1 && n <= 5 && n == float64(int(n)):
			s.Severity = Severity(int(n))
		case n == 6:
			s.Severity = SeverityCritical
		default:
			d.v.Add(d.path("severity_id"), "must be an OCSF severity id: 0 to 6 or 99")
		}
	}
	s.Asset, from = d.str("device.hostname", "device.name")
	if from == "" {
		s.Asset, from = firstResource(d)
	}
	d.set("asset", from)
	if _, ok := d.lookup("data_security"); ok || class == OCSFDataSecurityFinding {
		s.Type = IncidentTypePersonalInformationBreach
	}
}

// firstListTitle reads finding_info_list[0].title (OCSF Incident Finding).
func firstListTitle(d *jsonDoc) (string, string) {
	list, _ := d.obj["finding_info_list"].([]any)
	if len(list) == 0 {
		return "", ""
	}
	first, _ := list[0].(map[string]any)
	sub := &jsonDoc{obj: first, prefix: d.prefix + ".finding_info_list[0]", v: d.v, origin: d.origin}
	return sub.str("title")
}

// firstResource reads resources[0].name or .uid.
func firstResource(d *jsonDoc) (string, string) {
	list, _ := d.obj["resources"].([]any)
	if len(list) == 0 {
		return "", ""
	}
	first, _ := list[0].(map[string]any)
	sub := &jsonDoc{obj: first, prefix: d.prefix + ".resources[0]", v: d.v, origin: d.origin}
	return sub.str("name", "uid")
}

func mapECS(d *jsonDoc, s *Signal, f SiemFormat) {
	var from string
	s.SourceEventID, from = d.required(f.String(), "kibana.alert.uuid", "event.id")
	d.set("source_event_id", from)
	s.Title, from = d.required(f.String(), "kibana.alert.rule.name", "rule.name", "message")
	d.set("title", from)
	if from != d.path("message") {
		s.Description, from = d.str("message", "kibana.alert.reason", "rule.description")
	} else {
		s.Description, from = d.str("kibana.alert.reason", "rule.description")
	}
	d.set("description", from)
	s.ObservedAt, from = d.rfc3339("@timestamp")
	if from == "" && !d.hasViolationOn([]string{"@timestamp"}) {
		d.v.Add(d.path("@timestamp"), "is required for %s", f)
	}
	d.set("observed_at", from)
	sevPaths := []string{"kibana.alert.severity", "kibana.alert.rule.severity"}
	if val, ok := d.lookup("event.severity"); ok {
		if _, isStr := val.(string); isStr {
			sevPaths = append(sevPaths, "event.severity")
		}
	}
	s.Severity = d.severity(sevPaths...)
	s.Asset, from = d.str("host.name", "host.hostname")
	d.set("asset", from)
}

func mapElasticWebhook(d *jsonDoc, s *Signal) {
	val, ok := d.obj["alerts"]
	if !ok {
		mapECS(d, s, SiemFormatElasticWebhook)
		return
	}
	list, isList := val.([]any)
	if !isList {
		d.v.Add(d.path("alerts"), "must be an array holding one alert, is %s", jsonKind(val))
		return
	}
	if len(list) != 1 {
		d.v.Add(d.path("alerts"), "must hold exactly one alert, holds %d: configure the connector to send one alert per call", len(list))
		return
	}
	alert, isObj := list[0].(map[string]any)
	if !isObj {
		d.v.Add(d.path("alerts[0]"), "must be an object, is %s", jsonKind(list[0]))
		return
	}
	mapECS(&jsonDoc{obj: alert, prefix: d.prefix + ".alerts[0]", v: d.v, origin: d.origin}, s, SiemFormatElasticWebhook)
}

func mapSplunk(d *jsonDoc, s *Signal, now time.Time) {
	const format = "the Splunk webhook"
	var from string
	s.SourceEventID, from = d.required(format, "sid")
	d.set("source_event_id", from)
	s.Title, from = d.required(format, "search_name")
	d.set("title", from)
	result := d.object("result")
	res := &jsonDoc{obj: result, prefix: d.path("result"), v: d.v, origin: d.origin}
	if cd, _ := res.str("_cd"); cd != "" && s.SourceEventID != "" {
		s.SourceEventID += ":" + cd
	}
	s.ObservedAt, from = res.epoch("_time", time.Second)
	if from == "" {
		s.ObservedAt = now
	}
	d.set("observed_at", from)
	app, _ := d.str("app")
	owner, _ := d.str("owner")
	link, _ := d.str("results_link")
	desc := "Splunk saved search"
	if app != "" {
		desc += " in app " + app
	}
	if owner != "" {
		desc += " owned by " + owner
	}
	desc += " fired."
	if link != "" {
		desc += " Results: " + link
	}
	s.Description = desc
	s.Severity = res.severity("severity", "urgency")
	s.Asset, from = res.str("host", "dest")
	d.set("asset", from)
}

func mapSentinel(d *jsonDoc, s *Signal) {
	const format = "the Sentinel webhook"
	inc := d
	if o, ok := d.obj["object"].(map[string]any); ok {
		inc = &jsonDoc{obj: o, prefix: d.path("object"), v: d.v, origin: d.origin}
	}
	var from string
	if props := inc.object("properties"); props != nil {
		p := &jsonDoc{obj: props, prefix: inc.path("properties"), v: d.v, origin: d.origin}
		s.SourceEventID, from = p.str("incidentNumber", "providerIncidentId")
		if from == "" {
			s.SourceEventID, from = inc.required(format, "name")
		}
		d.set("source_event_id", from)
		s.Title, from = p.required(format, "title")
		d.set("title", from)
		s.Description, from = p.str("description")
		d.set("description", from)
		s.ObservedAt, from = p.rfc3339("firstActivityTimeUtc", "createdTimeUtc")
		if from == "" && !p.hasViolationOn([]string{"firstActivityTimeUtc", "createdTimeUtc"}) {
			d.v.Add(p.path("createdTimeUtc"), "is required for %s (or %s)", format, p.path("firstActivityTimeUtc"))
		}
		d.set("observed_at", from)
		s.Severity = p.severity("severity")
		s.Asset, from = sentinelHost(p)
		d.set("asset", from)
		return
	}
	if _, ok := d.obj["SystemAlertId"]; !ok {
		if len(*d.v) == 0 {
			d.v.Add(d.path("properties"), "is required for %s: send an incident (properties) or a SecurityAlert (SystemAlertId)", format)
		}
		return
	}
	s.SourceEventID, from = d.required(format, "SystemAlertId")
	d.set("source_event_id", from)
	s.Title, from = d.required(format, "AlertName", "DisplayName")
	d.set("title", from)
	s.Description, from = d.str("Description")
	d.set("description", from)
	s.ObservedAt, from = d.rfc3339("StartTime", "TimeGenerated")
	if from == "" && !d.hasViolationOn([]string{"StartTime", "TimeGenerated"}) {
		d.v.Add(d.path("TimeGenerated"), "is required for %s (or %s)", format, d.path("StartTime"))
	}
	d.set("observed_at", from)
	s.Severity = d.severity("Severity", "AlertSeverity")
	s.Asset, from = d.str("CompromisedEntity")
	d.set("asset", from)
}

// sentinelHost is the hostName of the first Host entity of an incident.
func sentinelHost(p *jsonDoc) (string, string) {
	list, _ := p.obj["relatedEntities"].([]any)
	for i, e := range list {
		ent, _ := e.(map[string]any)
		if kind, _ := ent["kind"].(string); kind != "Host" {
			continue
		}
		props, _ := ent["properties"].(map[string]any)
		sub := &jsonDoc{obj: props, prefix: p.path("relatedEntities[" + strconv.Itoa(i) + "].properties"), v: p.v, origin: p.origin}
		return sub.str("hostName")
	}
	return "", ""
}
