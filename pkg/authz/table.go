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
	RoleAuditor         = "auditor"          // read-only review of the record
)

// Service identities: each of Breachline's services calls the others with
// its own machine token (SERVICE_TOKEN), configured with the role
// "service:<name>" (auth.ServiceRolePrefix). Only these roles may name a
// person in x-breachline-on-behalf-of.
const (
	RoleServiceIntake         = "service:intake"
	RoleServiceClassification = "service:classification"
	RoleServiceRegistry       = "service:registry"
	RoleServiceDispatch       = "service:dispatch"
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
	"/breachline.classification.v1.ClassificationService/AssessIncident":      "assessments.run",
	"/breachline.classification.v1.ClassificationService/GetAssessment":       "assessments.read",
	"/breachline.classification.v1.ClassificationService/ListAssessments":     "assessments.read",
	"/breachline.classification.v1.ClassificationService/ReproduceAssessment": "assessments.read",
	"/breachline.classification.v1.ClassificationService/AssessHypothetical":  "assessments.simulate",
	"/breachline.classification.v1.ClassificationService/ListRulePacks":       "rulepacks.read",
	"/breachline.classification.v1.ClassificationService/GetRulePack":         "rulepacks.read",
	"/breachline.classification.v1.ScannerService/ScanContent":                "scanner.scan",
	"/breachline.classification.v1.ScannerService/ClassifyDataset":            "scanner.scan",

	// registry: customers
	"/breachline.registry.v1.CustomerService/CreateCustomer":           "customers.create",
	"/breachline.registry.v1.CustomerService/GetCustomer":              "customers.read",
	"/breachline.registry.v1.CustomerService/ListCustomers":            "customers.read",
	"/breachline.registry.v1.CustomerService/UpdateCustomer":           "customers.write",
	"/breachline.registry.v1.CustomerService/ConfirmNotificationEmail": "customers.write",
	"/breachline.registry.v1.AuditService/ExportCustomerAudit":         "customers.audit",

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
	"/breachline.registry.v1.DataReturnService/GetSigningKeys":                "datareturn.read",

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

// serviceCalls lists, for each service identity, exactly the RPCs that
// service calls on its peers (its clients: intake's classify and notify,
// classification's registryclient and dispatchclient, registry's and
// dispatch's peers); a service calling anything else is denied. A new
// cross-service call needs its line here. The relays' calls act for no
// person; calls made while serving a person carry that person in
// x-breachline-on-behalf-of, and the callee's own checks see the service.
var serviceCalls = map[string][]string{
	RoleServiceIntake: {
		"/breachline.classification.v1.ClassificationService/AssessIncident", // assessment relay
		"/breachline.dispatch.v1.DispatchService/SendNotice",                 // response-team alerts, escalations
	},
	RoleServiceClassification: {
		"/breachline.registry.v1.CustomerService/GetCustomer",                    // contract terms of an assessment
		"/breachline.registry.v1.SensitiveDataRemovalService/OpenRemovalRequest", // scanner findings on customer data
		"/breachline.dispatch.v1.DispatchService/CreateDraftCampaigns",           // campaign relay
	},
	RoleServiceRegistry: {
		"/breachline.intake.v1.IntakeService/ListIncidents",      // a customer's incidents in the audit export
		"/breachline.dispatch.v1.DispatchService/ListCampaigns",  // notices about them in the audit export
		"/breachline.dispatch.v1.DispatchService/ListDeliveries", // their delivery to the customer
		"/breachline.dispatch.v1.DispatchService/SendNotice",     // removal, subprocessor-change and DSR notices
	},
	RoleServiceDispatch: {
		"/breachline.intake.v1.AffectedIndividualsService/ListAffectedIndividuals", // recipients of a campaign
		"/breachline.intake.v1.IntakeService/AppendTimelineEntry",                  // approvals, holds, sends on the timeline
	},
}

// approvalRoles maps each capacity in which a person approves a campaign
// (ApproveCampaign's role, dispatch's approval policy) to the roles that
// hold it: a caller may approve only in a capacity one of its roles holds.
// admin holds none — a notice's quorum is people in those offices, not
// platform operators. responder and communications do not hold
// campaigns.approve, so their capacities count only where a person also
// holds a role that may call ApproveCampaign.
var approvalRoles = map[string][]string{
	"legal":                {RoleLegal},
	"executive_director":   {RoleExecutive},
	"officer":              {RoleOfficer},
	"security_coordinator": {RoleResponder},
	"loss_prevention":      {RoleResponder},
	"marketing":            {RoleCommunications},
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
	RoleAuditor: {
		"incidents.read", "timeline.read", "quarantine.read", "individuals.counts", "response.read",
		"assessments.read", "rulepacks.read", "customers.read", "customers.audit",
		"subprocessors.read", "subprocessors.changes", "dsr.read", "removals.read", "datareturn.read",
		"campaigns.read", "notices.read",
	},
}
