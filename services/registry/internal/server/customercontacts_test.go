package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

func TestCustomerContacts(t *testing.T) {
	t.Parallel()
	dpo := &registryv1.Contact{Name: "Amélie Durand", Role: "DPO", Email: "amelie@acme.example.org", Phone: "+33 1 23 45 67 89"}

	t.Run("method=Create/case=contacts_kept", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := validCustomer("acme")
		c.Contacts = []*registryv1.Contact{dpo}
		createCustomer(t, e, c)
		got := must[*registryv1.GetCustomerResponse](t)(e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "acme"}))
		wantProto(t, &registryv1.Customer{Contacts: got.GetCustomer().GetContacts()}, &registryv1.Customer{Contacts: []*registryv1.Contact{dpo}})
	})

	t.Run("method=Create/case=invalid_contacts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := validCustomer("acme")
		c.Contacts = []*registryv1.Contact{{Role: "CISO"}, {Name: "Bob", Email: "not-an-address", Phone: "call me"}}
		_, err := e.customers.CreateCustomer(t.Context(), &registryv1.CreateCustomerRequest{Customer: c})
		wantViolations(t, err, "customer.contacts[0].name", "customer.contacts[1].email", "customer.contacts[1].phone")
	})

	t.Run("method=Update/case=contacts_replaced", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := validCustomer("acme")
		c.Contacts = []*registryv1.Contact{dpo}
		createCustomer(t, e, c)
		ciso := &registryv1.Contact{Name: "Chris Roy", Role: "CISO"}
		got := must[*registryv1.UpdateCustomerResponse](t)(e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
			Customer: &registryv1.Customer{CustomerId: "acme", Contacts: []*registryv1.Contact{ciso}}, UpdateMask: mask("contacts"),
		})).GetCustomer()
		if len(got.GetContacts()) != 1 || got.GetContacts()[0].GetName() != "Chris Roy" || got.GetDisplayName() == "" {
			t.Fatalf("after update = %v", got)
		}
	})
}

func TestConfirmNotificationEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	createCustomer(t, e, validCustomer("acme"))
	e.clock.Advance(24 * time.Hour)
	confirm := func(email string) (*registryv1.ConfirmNotificationEmailResponse, error) {
		return e.customers.ConfirmNotificationEmail(t.Context(), &registryv1.ConfirmNotificationEmailRequest{CustomerId: "acme", NotificationEmail: email})
	}
	got := must[*registryv1.ConfirmNotificationEmailResponse](t)(confirm("dpo@acme.example.org")).GetCustomer()
	if !got.GetNotificationEmailConfirmTime().AsTime().Equal(now.Add(24*time.Hour)) || got.GetEtag() != "v2" {
		t.Fatalf("after confirmation = %v", got)
	}
	_, err := confirm("someone@else.example.org")
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.customers.ConfirmNotificationEmail(t.Context(), &registryv1.ConfirmNotificationEmailRequest{CustomerId: "A", NotificationEmail: "x"})
	wantViolations(t, err, "customer_id", "notification_email")
	_, err = e.customers.ConfirmNotificationEmail(t.Context(), &registryv1.ConfirmNotificationEmailRequest{CustomerId: "nobody", NotificationEmail: "dpo@acme.example.org"})
	wantCode(t, err, codes.NotFound)
}
