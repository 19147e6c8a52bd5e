package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

func validCustomer(id string) *registryv1.Customer {
	return &registryv1.Customer{
		CustomerId:           id,
		DisplayName:          "Lycée " + id,
		Region:               registryv1.Region_REGION_EU_EEA_CH,
		NotificationEmail:    "dpo@" + id + ".example.org",
		Products:             []string{"admin", "teacher"},
		EmployeeNotification: registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_PROCESSOR,
		NotifyWithinHours:    48,
	}
}

func createCustomer(t *testing.T, e *env, c *registryv1.Customer) *registryv1.Customer {
	t.Helper()
	resp, err := e.customers.CreateCustomer(t.Context(), &registryv1.CreateCustomerRequest{Customer: c})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return resp.GetCustomer()
}

func TestCreateCustomer(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=ok", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		got := createCustomer(t, e, validCustomer("lycee-lyon"))
		want := validCustomer("lycee-lyon")
		want.NotificationEmailConfirmTime = timestamppb.New(now)
		want.CreateTime = timestamppb.New(now)
		want.UpdateTime = timestamppb.New(now)
		want.Etag = got.GetEtag()
		if want.Etag == "" {
			t.Fatal("no etag")
		}
		wantProto(t, got, want)
		read := must[*registryv1.GetCustomerResponse](t)(e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "lycee-lyon"}))
		wantProto(t, read.GetCustomer(), want)
	})

	t.Run("method=Create/case=output_only_fields_ignored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		in := validCustomer("acme")
		in.CreateTime = timestamppb.New(now.Add(-time.Hour))
		in.NotificationEmailConfirmTime = timestamppb.New(now.Add(-time.Hour))
		got := createCustomer(t, e, in)
		if !got.GetCreateTime().AsTime().Equal(now) || !got.GetNotificationEmailConfirmTime().AsTime().Equal(now) {
			t.Fatalf("server times not applied: %v", got)
		}
	})

	t.Run("method=Create/case=idempotent_retry", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := &registryv1.CreateCustomerRequest{RequestId: "req-1", Customer: validCustomer("acme")}
		first := must[*registryv1.CreateCustomerResponse](t)(e.customers.CreateCustomer(t.Context(), req))
		e.clock.Advance(time.Minute)
		second := must[*registryv1.CreateCustomerResponse](t)(e.customers.CreateCustomer(t.Context(), req))
		wantProto(t, second, first)
		list := must[*registryv1.ListCustomersResponse](t)(e.customers.ListCustomers(t.Context(), &registryv1.ListCustomersRequest{}))
		if len(list.GetCustomers()) != 1 {
			t.Fatalf("got %d customers, want 1", len(list.GetCustomers()))
		}
	})

	t.Run("method=Create/case=already_exists", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		first := &registryv1.CreateCustomerRequest{RequestId: "req-1", Customer: validCustomer("acme")}
		must[*registryv1.CreateCustomerResponse](t)(e.customers.CreateCustomer(t.Context(), first))
		for _, rid := range []string{"req-2", ""} {
			_, err := e.customers.CreateCustomer(t.Context(), &registryv1.CreateCustomerRequest{RequestId: rid, Customer: validCustomer("acme")})
			wantCode(t, err, codes.AlreadyExists)
		}
	})

	t.Run("method=Create/case=request_id_reused", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		must[*registryv1.CreateCustomerResponse](t)(e.customers.CreateCustomer(t.Context(),
			&registryv1.CreateCustomerRequest{RequestId: "req-1", Customer: validCustomer("acme")}))
		_, err := e.customers.CreateCustomer(t.Context(),
			&registryv1.CreateCustomerRequest{RequestId: "req-1", Customer: validCustomer("globex")})
		wantViolations(t, err, "request_id")
		_, err = e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "globex"})
		wantCode(t, err, codes.NotFound)
	})

	cases := []struct {
		name   string
		rid    string
		mutate func(c *registryv1.Customer)
		want   []string
	}{
		{
			name:   "missing_required_fields",
			mutate: func(c *registryv1.Customer) { c.DisplayName = ""; c.Region = 0; c.NotificationEmail = "" },
			// The grpcx validation interceptor reports REQUIRED fields
			// before the handler runs.
			want: []string{"customer.display_name", "customer.region", "customer.notification_email"},
		},
		{
			// A request missing a REQUIRED field also learns, in the same
			// answer, what else is wrong with it (server.Validator).
			name:   "missing_and_malformed",
			mutate: func(c *registryv1.Customer) { c.DisplayName = ""; c.NotificationEmail = "dpo at acme" },
			want:   []string{"customer.display_name", "customer.notification_email"},
		},
		{
			name: "missing_and_everything_else_wrong",
			rid:  strings.Repeat("r", 129),
			mutate: func(c *registryv1.Customer) {
				c.CustomerId = "9lives"
				c.Region = 0
				c.Products = []string{"Bad Product"}
				c.EmployeeNotification = 7
				c.NotifyWithinHours = -1
			},
			// REQUIRED violations come first, then the domain's in its order.
			want: []string{
				"customer.region",
				"request_id",
				"customer.customer_id",
				"customer.products[0]",
				"customer.employee_notification",
				"customer.notify_within_hours",
			},
		},
		{
			name: "everything_wrong",
			rid:  strings.Repeat("r", 129),
			mutate: func(c *registryv1.Customer) {
				c.CustomerId = "9lives"
				c.DisplayName = strings.Repeat("é", 201)
				c.Region = 42
				c.NotificationEmail = "Ada <ada@example.org>"
				c.Products = []string{"admin", "Bad Product", "admin"}
				c.EmployeeNotification = 7
				c.NotifyWithinHours = 8761
			},
			want: []string{
				"request_id",
				"customer.customer_id",
				"customer.display_name",
				"customer.region",
				"customer.notification_email",
				"customer.products[1]",
				"customer.products[2]",
				"customer.employee_notification",
				"customer.notify_within_hours",
			},
		},
		{
			name:   "missing_customer_id",
			mutate: func(c *registryv1.Customer) { c.CustomerId = "" },
			want:   []string{"customer.customer_id"},
		},
		{
			name:   "negative_hours",
			mutate: func(c *registryv1.Customer) { c.NotifyWithinHours = -1 },
			want:   []string{"customer.notify_within_hours"},
		},
		{
			name:   "email_without_domain_dot",
			mutate: func(c *registryv1.Customer) { c.NotificationEmail = "dpo@localhost" },
			want:   []string{"customer.notification_email"},
		},
		{
			name: "email_too_long",
			mutate: func(c *registryv1.Customer) {
				c.NotificationEmail = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".org"
			},
			want: []string{"customer.notification_email"},
		},
		{
			name: "too_many_products",
			mutate: func(c *registryv1.Customer) {
				c.Products = nil
				for i := range 51 {
					c.Products = append(c.Products, "p"+strings.Repeat("x", i))
				}
			},
			want: []string{"customer.products"},
		},
	}
	for _, tc := range cases {
		t.Run("method=Create/case=invalid_"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := validCustomer("acme")
			tc.mutate(c)
			_, err := e.customers.CreateCustomer(t.Context(), &registryv1.CreateCustomerRequest{RequestId: tc.rid, Customer: c})
			wantViolations(t, err, tc.want...)
			_, err = e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "acme"})
			wantCode(t, err, codes.NotFound)
		})
	}
}

func TestGetCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("method=Get/case=not_found", func(t *testing.T) {
		t.Parallel()
		_, err := e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "nobody"})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Get/case=invalid_id", func(t *testing.T) {
		t.Parallel()
		_, err := e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "Not An Id"})
		wantViolations(t, err, "customer_id")
	})
}

func TestListCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Created out of order: the list is ordered by id, not by creation.
	for _, id := range []string{"eee", "bbb", "ddd", "aaa", "ccc"} {
		c := validCustomer(id)
		if id == "bbb" || id == "ddd" {
			c.Region = registryv1.Region_REGION_US
		}
		createCustomer(t, e, c)
	}
	idsOf := func(cs []*registryv1.Customer) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.GetCustomerId())
		}
		return out
	}
	pages := func(t *testing.T, req *registryv1.ListCustomersRequest) [][]string {
		t.Helper()
		var out [][]string
		for {
			resp := must[*registryv1.ListCustomersResponse](t)(e.customers.ListCustomers(t.Context(), req))
			out = append(out, idsOf(resp.GetCustomers()))
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}

	t.Run("method=List/case=pages", func(t *testing.T) {
		t.Parallel()
		got := pages(t, &registryv1.ListCustomersRequest{PageSize: 2})
		want := [][]string{{"aaa", "bbb"}, {"ccc", "ddd"}, {"eee"}}
		if d := diff(want, got); d != "" {
			t.Fatal(d)
		}
	})

	t.Run("method=List/case=default_page_size", func(t *testing.T) {
		t.Parallel()
		got := pages(t, &registryv1.ListCustomersRequest{})
		if d := diff([][]string{{"aaa", "bbb", "ccc", "ddd", "eee"}}, got); d != "" {
			t.Fatal(d)
		}
	})

	t.Run("method=List/case=region", func(t *testing.T) {
		t.Parallel()
		got := pages(t, &registryv1.ListCustomersRequest{PageSize: 1, Region: registryv1.Region_REGION_US})
		if d := diff([][]string{{"bbb"}, {"ddd"}}, got); d != "" {
			t.Fatal(d)
		}
	})

	t.Run("method=List/case=invalid", func(t *testing.T) {
		t.Parallel()
		_, err := e.customers.ListCustomers(t.Context(), &registryv1.ListCustomersRequest{PageSize: -1, PageToken: "%%%", Region: 99})
		wantViolations(t, err, "page_size", "region", "page_token")
	})

	t.Run("method=List/case=token_with_other_filter", func(t *testing.T) {
		t.Parallel()
		resp := must[*registryv1.ListCustomersResponse](t)(e.customers.ListCustomers(t.Context(), &registryv1.ListCustomersRequest{PageSize: 1}))
		_, err := e.customers.ListCustomers(t.Context(), &registryv1.ListCustomersRequest{
			PageSize: 1, PageToken: resp.GetNextPageToken(), Region: registryv1.Region_REGION_US,
		})
		wantViolations(t, err, "page_token")
	})
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func TestUpdateCustomer(t *testing.T) {
	t.Parallel()

	t.Run("method=Update/case=masked_fields_only", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		created := createCustomer(t, e, validCustomer("acme"))
		e.clock.Advance(time.Hour)
		// Unmasked fields are ignored, even when they would be invalid.
		in := &registryv1.Customer{
			CustomerId:        "acme",
			DisplayName:       "Acme Academy",
			NotificationEmail: "not an address",
			Products:          []string{"BAD"},
		}
		resp := must[*registryv1.UpdateCustomerResponse](t)(e.customers.UpdateCustomer(t.Context(),
			&registryv1.UpdateCustomerRequest{Customer: in, UpdateMask: mask("display_name", "notify_within_hours")}))
		got := resp.GetCustomer()
		want := validCustomer("acme")
		want.DisplayName = "Acme Academy"
		want.NotifyWithinHours = 0
		want.NotificationEmailConfirmTime = created.GetNotificationEmailConfirmTime()
		want.CreateTime = created.GetCreateTime()
		want.UpdateTime = timestamppb.New(now.Add(time.Hour))
		want.Etag = got.GetEtag()
		wantProto(t, got, want)
		if got.GetEtag() == created.GetEtag() {
			t.Fatal("etag did not change")
		}
		read := must[*registryv1.GetCustomerResponse](t)(e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "acme"}))
		wantProto(t, read.GetCustomer(), want)
	})

	t.Run("method=Update/case=email_change_resets_confirm_time", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		e.clock.Advance(time.Hour)
		same := must[*registryv1.UpdateCustomerResponse](t)(e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
			Customer: &registryv1.Customer{CustomerId: "acme", NotificationEmail: "dpo@acme.example.org"}, UpdateMask: mask("notification_email"),
		}))
		if !same.GetCustomer().GetNotificationEmailConfirmTime().AsTime().Equal(now) {
			t.Fatalf("unchanged address reset confirm time: %v", same.GetCustomer())
		}
		e.clock.Advance(time.Hour)
		changed := must[*registryv1.UpdateCustomerResponse](t)(e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
			Customer: &registryv1.Customer{CustomerId: "acme", NotificationEmail: "privacy@acme.example.org"}, UpdateMask: mask("notification_email"),
		}))
		c := changed.GetCustomer()
		if c.GetNotificationEmail() != "privacy@acme.example.org" || !c.GetNotificationEmailConfirmTime().AsTime().Equal(now.Add(2*time.Hour)) {
			t.Fatalf("confirm time not reset: %v", c)
		}
	})

	t.Run("method=Update/case=etag", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		created := createCustomer(t, e, validCustomer("acme"))
		upd := func(name, etag string) (*registryv1.UpdateCustomerResponse, error) {
			return e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
				Customer:   &registryv1.Customer{CustomerId: "acme", DisplayName: name, Etag: etag},
				UpdateMask: mask("display_name"),
			})
		}
		first := must[*registryv1.UpdateCustomerResponse](t)(upd("First", created.GetEtag()))
		// A second writer holding the old etag loses.
		_, err := upd("Second", created.GetEtag())
		wantCode(t, err, codes.Aborted)
		// With the current etag it wins.
		must[*registryv1.UpdateCustomerResponse](t)(upd("Second", first.GetCustomer().GetEtag()))
		// Without an etag there is no concurrency check.
		last := must[*registryv1.UpdateCustomerResponse](t)(upd("Third", ""))
		if last.GetCustomer().GetDisplayName() != "Third" {
			t.Fatalf("got %v", last.GetCustomer())
		}
		_, err = upd("Fourth", "garbage")
		wantViolations(t, err, "customer.etag")
	})

	t.Run("method=Update/case=concurrent_without_etag", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		const writers = 4
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				_, err := e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
					Customer:   &registryv1.Customer{CustomerId: "acme", NotifyWithinHours: int32(i + 1)},
					UpdateMask: mask("notify_within_hours"),
				})
				errs <- err
			}()
		}
		// Each writer either wins or, after its retries, is told ABORTED;
		// no success is ever lost: the version counts every one.
		var ok int
		for range writers {
			switch err := <-errs; status.Code(err) {
			case codes.OK:
				ok++
			case codes.Aborted:
			default:
				t.Fatalf("UpdateCustomer: %v", err)
			}
		}
		read := must[*registryv1.GetCustomerResponse](t)(e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "acme"}))
		if ok == 0 || read.GetCustomer().GetEtag() != fmt.Sprintf("v%d", 1+ok) {
			t.Fatalf("%d updates succeeded, etag %q", ok, read.GetCustomer().GetEtag())
		}
	})

	t.Run("method=Update/case=not_found", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
			Customer: &registryv1.Customer{CustomerId: "nobody", DisplayName: "X"}, UpdateMask: mask("display_name"),
		})
		wantCode(t, err, codes.NotFound)
	})

	cases := []struct {
		name     string
		customer *registryv1.Customer
		mask     *fieldmaskpb.FieldMask
		want     []string
	}{
		{"missing_mask", &registryv1.Customer{CustomerId: "acme"}, nil, []string{"update_mask"}},
		{"empty_mask", &registryv1.Customer{CustomerId: "acme"}, mask(), []string{"update_mask"}},
		{"unknown_path", &registryv1.Customer{CustomerId: "acme", DisplayName: "X"}, mask("display_name", "colour"), []string{"update_mask"}},
		{"immutable_path", &registryv1.Customer{CustomerId: "acme"}, mask("customer_id", "create_time"), []string{"update_mask", "update_mask"}},
		{
			"invalid_masked_fields",
			&registryv1.Customer{CustomerId: "acme", DisplayName: " ", Region: 0, NotificationEmail: "x@", NotifyWithinHours: 10000},
			mask("display_name", "region", "notification_email", "notify_within_hours"),
			[]string{"customer.display_name", "customer.region", "customer.notification_email", "customer.notify_within_hours"},
		},
		{"bad_customer_id", &registryv1.Customer{CustomerId: "A", DisplayName: "X"}, mask("display_name"), []string{"customer.customer_id"}},
		// A missing REQUIRED field comes with the other problems of the
		// request in one answer.
		{"missing_mask_bad_etag", &registryv1.Customer{CustomerId: "acme", Etag: "bogus"}, nil, []string{"update_mask", "customer.etag"}},
		{"missing_customer_bad_mask", nil, mask("display_name", "colour"), []string{"customer", "update_mask"}},
		{
			"missing_mask_bad_customer_id",
			&registryv1.Customer{CustomerId: "A", Etag: "v0x"},
			nil,
			[]string{"update_mask", "customer.customer_id", "customer.etag"},
		},
	}
	for _, tc := range cases {
		t.Run("method=Update/case=invalid_"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			created := createCustomer(t, e, validCustomer("acme"))
			_, err := e.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{Customer: tc.customer, UpdateMask: tc.mask})
			wantViolations(t, err, tc.want...)
			read := must[*registryv1.GetCustomerResponse](t)(e.customers.GetCustomer(t.Context(), &registryv1.GetCustomerRequest{CustomerId: "acme"}))
			wantProto(t, read.GetCustomer(), created)
		})
	}
}
