package authz

// This file is the permission table: which permission every RPC needs and
// which roles hold which permissions. It is data — review it like a
// contract. TestEveryRPCHasAPermission fails when an RPC of any Breachline
// service is missing here; the README's role table is rendered from it
// (TestReadmeRoleTable).

// Roles. Role names are what the identity provider puts in the roles claim
// (OIDC_ROLES_CLAIM) and what machine tokens are configured with.
const (
	RoleAdmin           = "admin"            // platform administrators: everything
	RoleResponder       = "responder"        // security coordinator, response team, loss prevention
	RoleLegal           = "legal"            // legal counsel
	RoleExecutive       = "executive"        // executive director
	RoleOfficer         = "officer"          // company officers
	RoleCommunications  = "communications"   // marketing / communications: notice wording
	RoleCustomerSuccess = "customer_success" // scoped to the customers assigned to them
	RoleSIEM            = "siem"             // SIEMs: report signals, read nothing
	RoleService         = "service"          // Breachline's own services calling each other
	RoleAuditor         = "auditor"          // read-only review of the record
)

// methods maps every RPC (gRPC full method name) to the permission it needs.
var methods = map[string]Permission{
	// intake: signals and incidents
	"/breachline.intake.v1.IntakeService/ReportSignal":            "signals.report",
	"/breachline.intake.v1.IntakeService/ReportSignals":           "signals.report",
	"/breachline.intake.v1.IntakeService/IngestSiemPayload":       "signals.report",
	"/breachline.intake.v1.IntakeService/GetIncident":             "incidents.read",
	"/breachline.intake.v1.IntakeService/ListIncidents":           "incidents.read",
	"/breachline.intake.v1.IntakeService/UpdateIncident":          "incidents.write",
	"/breachline.intake.v1.IntakeService/TransitionIncident":      "incidents.write",
	"/breachline.intake.v1.IntakeService/AddIncidentNote":         "incidents.note",
	"/breachline.intake.v1.IntakeService/ListTimeline":            "timeline.read",
	"/breachline.intake.v1.IntakeService/VerifyTimeline":          "timeline.read",
	"/breachline.intake.v1.IntakeService/ExportIncident":          "timeline.read",
	"/breachline.intake.v1.IntakeService/AppendTimelineEntry":     "timeline.append",
	"/breachline.intake.v1.IntakeService/ListQuarantinedPayloads": "quarantine.read",
	"/breachline.intake.v1.IntakeService/GetQuarantinedPayload":   "quarantine.read",

	// intake: affected individuals
	"/breachline.intake.v1.AffectedIndividualsService/ImportAffectedIndividuals": "individuals.import",
	"/breachline.intake.v1.AffectedIndividualsService/GetImport":                 "individuals.import",
	"/breachline.intake.v1.AffectedIndividualsService/ListImportErrors":          "individuals.import",
	"/breachline.intake.v1.AffectedIndividualsService/ListAffectedIndividuals":   "individuals.read",
	"/breachline.intake.v1.AffectedIndividualsService/GetAffectedCounts":         "individuals.counts",

	// intake: the response workflow
	"/breachline.intake.v1.ResponseService/PutTeamMember":                "response.team",
	"/breachline.intake.v1.ResponseService/ListTeamMembers":              "response.read",
	"/breachline.intake.v1.ResponseService/ListPlaybooks":                "response.read",
	"/breachline.intake.v1.ResponseService/GetPlaybook":                  "response.read",
	"/breachline.intake.v1.ResponseService/ListTasks":                    "response.read",
	"/breachline.intake.v1.ResponseService/GetTask":                      "response.read",
	"/breachline.intake.v1.ResponseService/AssignTask":                   "response.tasks",
	"/breachline.intake.v1.ResponseService/StartTask":                    "response.tasks",
	"/breachline.intake.v1.ResponseService/CompleteTask":                 "response.tasks",
	"/breachline.intake.v1.ResponseService/BlockTask":                    "response.tasks",
	"/breachline.intake.v1.ResponseService/ReopenTask":                   "response.tasks",
	"/breachline.intake.v1.ResponseService/SaveAnalysis":                 "response.analyse",
	"/breachline.intake.v1.ResponseService/GetAnalysis":                  "response.read",
	"/breachline.intake.v1.ResponseService/ListAnalyses":                 "response.read",
	"/breachline.intake.v1.ResponseService/SignOffAnalysis":              "response.signoff",
	"/breachline.intake.v1.ResponseService/FinalizeNotificationDecision": "response.decide",
	"/breachline.intake.v1.ResponseService/GetNotificationDecision":      "response.read",
	"/breachline.intake.v1.ResponseService/GetResponseMetrics":           "response.read",

	// classification
	"/breachline.classification.v1.ClassificationService/AssessIncident":     "assessments.run",
	"/breachline.classification.v1.ClassificationService/GetAssessment":      "assessments.read",
	"/breachline.classification.v1.ClassificationService/ListAssessments":    "assessments.read",
	"/breachline.classification.v1.ClassificationService/AssessHypothetical": "assessments.simulate",
	"/breachline.classification.v1.ClassificationService/ListRulePacks":      "rulepacks.read",
	"/breachline.classification.v1.ClassificationService/GetRulePack":        "rulepacks.read",
	"/breachline.classification.v1.ScannerService/ScanContent":               "scanner.scan",
	"/breachline.classification.v1.ScannerService/ClassifyDataset":           "scanner.scan",

	// registry: customers
	"/breachline.registry.v1.CustomerService/CreateCustomer":   "customers.create",
	"/breachline.registry.v1.CustomerService/GetCustomer":      "customers.read",
	"/breachline.registry.v1.CustomerService/ListCustomers":    "customers.read",
	"/breachline.registry.v1.CustomerService/UpdateCustomer":   "customers.write",
	"/breachline.registry.v1.AuditService/ExportCustomerAudit": "customers.audit",

	// registry: subprocessors
	"/breachline.registry.v1.SubprocessorService/CreateSubprocessor":         "subprocessors.write",
	"/breachline.registry.v1.SubprocessorService/UpdateSubprocessor":         "subprocessors.write",
	"/breachline.registry.v1.SubprocessorService/ProposeSubprocessorChange":  "subprocessors.write",
	"/breachline.registry.v1.SubprocessorService/ResolveObjection":           "subprocessors.write",
	"/breachline.registry.v1.SubprocessorService/GetSubprocessor":            "subprocessors.read",
	"/breachline.registry.v1.SubprocessorService/ListSubprocessors":          "subprocessors.read",
	"/breachline.registry.v1.SubprocessorService/ListSubprocessorRevisions":  "subprocessors.read",
	"/breachline.registry.v1.SubprocessorService/ListCustomerSubprocessors":  "subprocessors.read",
	"/breachline.registry.v1.SubprocessorService/CheckSubprocessor":          "subprocessors.read",
	"/breachline.registry.v1.SubprocessorService/GetSubprocessorChange":      "subprocessors.changes",
	"/breachline.registry.v1.SubprocessorService/ListSubprocessorChanges":    "subprocessors.changes",
	"/breachline.registry.v1.SubprocessorService/ObjectToSubprocessorChange": "objections.write",

	// registry: data subject requests
	"/breachline.registry.v1.DataSubjectRequestService/SubmitDataSubjectRequest":           "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/ExtendDataSubjectRequest":           "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/TransitionDataSubjectRequest":       "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/RecordDataSubjectRequestAssistance": "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/AddAssistanceTask":                  "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/CompleteAssistanceTask":             "dsr.write",
	"/breachline.registry.v1.DataSubjectRequestService/GetDataSubjectRequest":              "dsr.read",
	"/breachline.registry.v1.DataSubjectRequestService/ListDataSubjectRequests":            "dsr.read",

	// registry: sensitive-data removal and data return/deletion
	"/breachline.registry.v1.SensitiveDataRemovalService/OpenRemovalRequest":  "removals.write",
	"/breachline.registry.v1.SensitiveDataRemovalService/RecordRemoval":       "removals.write",
	"/breachline.registry.v1.SensitiveDataRemovalService/GetRemovalRequest":   "removals.read",
	"/breachline.registry.v1.SensitiveDataRemovalService/ListRemovalRequests": "removals.read",
	"/breachline.registry.v1.DataReturnService/OpenDataReturnRequest":         "datareturn.write",
	"/breachline.registry.v1.DataReturnService/RecordDataDisposition":         "datareturn.write",
	"/breachline.registry.v1.DataReturnService/RecordDataRetention":           "datareturn.write",
	"/breachline.registry.v1.DataReturnService/IssueDeletionCertificate":      "datareturn.certify",
	"/breachline.registry.v1.DataReturnService/GetDataReturnRequest":          "datareturn.read",
	"/breachline.registry.v1.DataReturnService/ListDataReturnRequests":        "datareturn.read",
	"/breachline.registry.v1.DataReturnService/VerifyDeletionCertificate":     "datareturn.read",

	// dispatch
	"/breachline.dispatch.v1.DispatchService/CreateDraftCampaigns": "campaigns.draft",
	"/breachline.dispatch.v1.DispatchService/GetCampaign":          "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/ListCampaigns":        "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/PreviewCampaign":      "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/ListTemplates":        "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/ListHolds":            "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/GetCampaignProgress":  "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/ListDeliveries":       "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/ListArtifacts":        "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/GetArtifact":          "campaigns.read",
	"/breachline.dispatch.v1.DispatchService/UpdateCampaign":       "campaigns.write",
	"/breachline.dispatch.v1.DispatchService/AddRecipients":        "campaigns.write",
	"/breachline.dispatch.v1.DispatchService/ResolveRecipients":    "campaigns.write",
	"/breachline.dispatch.v1.DispatchService/ApproveCampaign":      "campaigns.approve",
	"/breachline.dispatch.v1.DispatchService/SendCampaign":         "campaigns.send",
	"/breachline.dispatch.v1.DispatchService/PauseCampaign":        "campaigns.send",
	"/breachline.dispatch.v1.DispatchService/ResumeCampaign":       "campaigns.send",
	"/breachline.dispatch.v1.DispatchService/PlaceHold":            "holds.write",
	"/breachline.dispatch.v1.DispatchService/ReleaseHold":          "holds.write",
	"/breachline.dispatch.v1.DispatchService/RecordBounce":         "deliveries.record",
	"/breachline.dispatch.v1.DispatchService/SendNotice":           "notices.send",
	"/breachline.dispatch.v1.DispatchService/GetNotice":            "notices.read",
}

// global are the permissions that read nothing customer-specific (law,
// the public subprocessor list, stateless scanning): a role scoped to
// customers holds them without restriction on the response. Requests naming
// customers are still checked.
var global = map[Permission]bool{
	"rulepacks.read": true, "subprocessors.read": true, "scanner.scan": true,
}

// scopedRoles see only the customers assigned to them (Identity.Customers).
var scopedRoles = map[string]bool{RoleCustomerSuccess: true}

// roleGrants lists each role's permissions; "*" is every permission.
var roleGrants = map[string][]Permission{
	RoleAdmin: {"*"},
	RoleResponder: {
		"signals.report", "incidents.read", "incidents.write", "incidents.note", "timeline.read",
		"quarantine.read", "individuals.import", "individuals.read", "individuals.counts",
		"response.read", "response.team", "response.tasks", "response.analyse", "response.signoff",
		"assessments.read", "assessments.simulate", "rulepacks.read", "scanner.scan",
		"customers.read", "subprocessors.read", "subprocessors.changes", "dsr.read",
		"removals.read", "removals.write", "datareturn.read", "datareturn.write",
		"campaigns.read", "campaigns.write", "campaigns.send", "holds.write", "notices.read",
	},
	RoleLegal: {
		"incidents.read", "incidents.note", "timeline.read", "individuals.read", "individuals.counts",
		"response.read", "response.tasks", "response.analyse", "response.signoff", "response.decide",
		"assessments.read", "assessments.simulate", "rulepacks.read",
		"customers.read", "customers.audit", "subprocessors.read", "subprocessors.changes", "subprocessors.write",
		"objections.write", "dsr.read", "dsr.write", "removals.read", "removals.write",
		"datareturn.read", "datareturn.write", "datareturn.certify",
		"campaigns.read", "campaigns.write", "campaigns.approve", "holds.write", "notices.read",
	},
	RoleExecutive: {
		"incidents.read", "incidents.note", "timeline.read", "individuals.counts",
		"response.read", "response.tasks", "response.signoff", "response.decide",
		"assessments.read", "rulepacks.read", "customers.read", "subprocessors.read", "subprocessors.changes",
		"campaigns.read", "campaigns.approve",
	},
	RoleOfficer: {
		"incidents.read", "incidents.note", "timeline.read", "individuals.counts",
		"response.read", "response.tasks", "response.signoff",
		"assessments.read", "rulepacks.read", "customers.read", "subprocessors.read",
		"campaigns.read", "campaigns.approve",
	},
	RoleCommunications: {
		"incidents.read", "individuals.counts", "response.read", "response.tasks",
		"assessments.read", "rulepacks.read", "campaigns.read", "campaigns.write",
	},
	RoleCustomerSuccess: {
		"incidents.read", "assessments.read", "rulepacks.read", "scanner.scan",
		"customers.read", "customers.write", "customers.audit", "subprocessors.read", "objections.write",
		"dsr.read", "dsr.write", "removals.read", "removals.write", "datareturn.read", "datareturn.write",
		"notices.read",
	},
	RoleSIEM: {"signals.report"},
	RoleService: {
		"timeline.append", "assessments.run", "assessments.read", "campaigns.draft",
		"customers.read", "individuals.read", "notices.send", "notices.read",
		"removals.read", "removals.write", "subprocessors.read", "dsr.read", "dsr.write",
		// registry's audit export lists a customer's incidents.
		"incidents.read",
	},
	RoleAuditor: {
		"incidents.read", "timeline.read", "quarantine.read", "individuals.counts", "response.read",
		"assessments.read", "rulepacks.read", "customers.read", "customers.audit",
		"subprocessors.read", "subprocessors.changes", "dsr.read", "removals.read", "datareturn.read",
		"campaigns.read", "notices.read",
	},
}
