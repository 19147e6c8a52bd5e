package server

import (
	"strconv"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// enumMap translates one proto enum to its domain counterpart and back. The
// domain stores readable strings, so proto renumbering can never corrupt
// stored data.
type enumMap[P ~int32, D ~string] struct {
	toDomain map[P]D
	toProto  map[D]P
}

func newEnumMap[P ~int32, D ~string](pairs map[P]D) enumMap[P, D] {
	m := enumMap[P, D]{toDomain: pairs, toProto: make(map[D]P, len(pairs))}
	for p, d := range pairs {
		m.toProto[d] = p
	}
	return m
}

// domain returns the domain value of p: "" for the *_UNSPECIFIED zero, and a
// value the domain rejects as unknown for numbers this build does not know,
// so that validation reports them with the right field path.
func (m enumMap[P, D]) domain(p P) D {
	if p == 0 {
		return ""
	}
	if d, ok := m.toDomain[p]; ok {
		return d
	}
	return D("unknown_" + strconv.Itoa(int(p)))
}

// proto returns the proto value of d (the zero value for "").
func (m enumMap[P, D]) proto(d D) P { return m.toProto[d] }

var (
	regions = newEnumMap(map[registryv1.Region]domain.Region{
		registryv1.Region_REGION_EU_EEA_CH: domain.RegionEUEEACH,
		registryv1.Region_REGION_UK:        domain.RegionUK,
		registryv1.Region_REGION_US:        domain.RegionUS,
		registryv1.Region_REGION_OTHER:     domain.RegionOther,
	})
	employeeNotifications = newEnumMap(map[registryv1.EmployeeNotification]domain.EmployeeNotification{
		registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_CUSTOMER:  domain.EmployeeNotificationCustomer,
		registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_PROCESSOR: domain.EmployeeNotificationProcessor,
	})
	subprocessorStatuses = newEnumMap(map[registryv1.SubprocessorStatus]domain.SubprocessorStatus{
		registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_PROPOSED: domain.SubprocessorProposed,
		registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE:   domain.SubprocessorActive,
		registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_RETIRED:  domain.SubprocessorRetired,
	})
	transferMechanisms = newEnumMap(map[registryv1.TransferMechanism]domain.TransferMechanism{
		registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE:      domain.TransferNone,
		registryv1.TransferMechanism_TRANSFER_MECHANISM_ADEQUACY:  domain.TransferAdequacy,
		registryv1.TransferMechanism_TRANSFER_MECHANISM_SCC:       domain.TransferSCC,
		registryv1.TransferMechanism_TRANSFER_MECHANISM_FRAMEWORK: domain.TransferFramework,
		registryv1.TransferMechanism_TRANSFER_MECHANISM_BCR:       domain.TransferBCR,
	})
	dsrTypes = newEnumMap(map[registryv1.DataSubjectRequestType]domain.DSRType{
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ACCESS:        domain.DSRAccess,
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_RECTIFICATION: domain.DSRRectification,
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ERASURE:       domain.DSRErasure,
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_RESTRICTION:   domain.DSRRestriction,
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_PORTABILITY:   domain.DSRPortability,
		registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_OBJECTION:     domain.DSRObjection,
	})
	dsrStatuses = newEnumMap(map[registryv1.DataSubjectRequestStatus]domain.DSRStatus{
		registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_RECEIVED:    domain.DSRReceived,
		registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_FORWARDED:   domain.DSRForwarded,
		registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_IN_PROGRESS: domain.DSRInProgress,
		registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_COMPLETED:   domain.DSRCompleted,
		registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_REJECTED:    domain.DSRRejected,
	})
	sensitiveTypes = newEnumMap(map[registryv1.SensitiveDataType]domain.SensitiveType{
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN:                   domain.SensitiveSSN,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_PAYMENT_CARD:          domain.SensitivePaymentCard,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_BANK_ACCOUNT:          domain.SensitiveBankAccount,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_ROUTING_NUMBER:        domain.SensitiveRoutingNumber,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_IBAN:                  domain.SensitiveIBAN,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_MEDICAL_RECORD_NUMBER: domain.SensitiveMedicalRecord,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_HEALTH_INSURANCE_ID:   domain.SensitiveHealthInsurance,
		registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_PROVIDER_ID:           domain.SensitiveProviderID,
	})
	removalStatuses = newEnumMap(map[registryv1.RemovalRequestStatus]domain.RemovalStatus{
		registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_OPEN:                domain.RemovalOpen,
		registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_FLAGGED_FOR_REMOVAL: domain.RemovalFlagged,
		registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_REMOVED_BY_CUSTOMER: domain.RemovalRemovedByCustomer,
		registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_REMOVED_BY_US:       domain.RemovalRemovedByUs,
	})
	removers = newEnumMap(map[registryv1.Remover]domain.Remover{
		registryv1.Remover_REMOVER_CUSTOMER:  domain.RemoverCustomer,
		registryv1.Remover_REMOVER_PROCESSOR: domain.RemoverProcessor,
	})
)
