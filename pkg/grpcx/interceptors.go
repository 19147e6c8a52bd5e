package grpcx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/validate"
)

// RequestIDHeader carries the correlation id of a call. The gateway sets it;
// when absent the server makes one. It is echoed in the response header and
// in every log line of the call, and it is the only thing a client sees of an
// internal error.
const RequestIDHeader = "x-request-id"

// ErrorDomain is the ErrorInfo domain of every error the suite returns.
const ErrorDomain = "breachline.dev"

// chain is the one ordered interceptor chain of every server:
//
//  1. recovery      — a panic becomes an internal error, never a dead process;
//  2. error mapping — domain errors become statuses with details, internal
//     errors are masked (and logged with the request id);
//  3. logging       — one line per call with method, code and duration;
//  4. auth          — credentials become an auth.Identity in the context;
//  5. rate limit    — the identity's token bucket has a token (RateLimit;
//     before authz, so denied calls count too);
//  6. authz         — the identity's roles grant the method's permission
//     (and a customer-scoped caller names only its customers); responses
//     are filtered to what a scoped caller may see;
//  7. validation    — REQUIRED fields from the proto are present.
//
// Recovery is outermost so that it also catches panics in the other
// interceptors; mapping sits outside logging so that the log records the
// code the client actually receives.
func (s *Server) unaryChain() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		s.recoverUnary,
		s.mapErrorsUnary,
		s.logUnary,
		s.authUnary,
		s.rateLimitUnary,
		s.authzUnary,
		s.validateUnary,
	}
}

func (s *Server) streamChain() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		s.recoverStream,
		s.mapErrorsStream,
		s.logStream,
		s.authStream,
		s.rateLimitStream,
		s.authzStream,
	}
}

// errPanic is what a client sees of a panic; the stack is logged.
var errPanic = withDetails(codes.Internal, "internal error", info("INTERNAL"))

func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.ErrorContext(ctx, "panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return handler(ctx, req)
}

func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.ErrorContext(ss.Context(), "panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return handler(srv, ss)
}

type requestIDKey struct{}

// RequestID returns the correlation id of the call in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID reads only the request id header (FromIncomingContext
// would copy every header, on every call).
func withRequestID(ctx context.Context) context.Context {
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) > 0 && len(v[0]) > 0 && len(v[0]) <= 128 {
		return context.WithValue(ctx, requestIDKey{}, v[0])
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return context.WithValue(ctx, requestIDKey{}, hex.EncodeToString(b[:]))
}

func (s *Server) mapErrorsUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx = withRequestID(ctx)
	_ = grpc.SetHeader(ctx, metadata.MD{RequestIDHeader: {RequestID(ctx)}}) // the key is lowercase already
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, info.FullMethod, err)
	}
	return resp, nil
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrappedStream) Context() context.Context { return w.ctx }

func (s *Server) mapErrorsStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := withRequestID(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, RequestID(ctx)))
	if err := handler(srv, wrappedStream{ss, ctx}); err != nil {
		return s.toStatus(ctx, info.FullMethod, err)
	}
	return nil
}

// toStatus is the single place where errors become gRPC statuses.
func (s *Server) toStatus(ctx context.Context, method string, err error) error {
	if _, ok := status.FromError(err); ok {
		// Already a status (e.g. from a peer call or the gRPC runtime):
		// pass it through, except statuses our own code never makes.
		return err
	}
	if ie, ok := apperr.AsInvalid(err); ok {
		br := &errdetails.BadRequest{}
		for _, v := range ie.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		return withDetails(codes.InvalidArgument, ie.Error(), br, info("INVALID_ARGUMENT"))
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return withDetails(m.code, err.Error(), info(m.reason))
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	// Unknown error: log it in full with the request id, tell the client only
	// the id. Internal detail (driver messages, hostnames) never leaks.
	rid := RequestID(ctx)
	s.logger.ErrorContext(ctx, "internal error", "method", method, "request_id", rid, "error", err.Error())
	return withDetails(codes.Internal, "internal error; request id "+rid, info("INTERNAL"))
}

var errorCodes = []struct {
	err    error
	code   codes.Code
	reason string
}{
	{apperr.ErrNotFound, codes.NotFound, "NOT_FOUND"},
	{apperr.ErrAlreadyExists, codes.AlreadyExists, "ALREADY_EXISTS"},
	{apperr.ErrConflict, codes.Aborted, "CONFLICT"},
	{apperr.ErrFailedPrecondition, codes.FailedPrecondition, "FAILED_PRECONDITION"},
	{apperr.ErrUnavailable, codes.Unavailable, "UNAVAILABLE"},
	{apperr.ErrPermissionDenied, codes.PermissionDenied, "PERMISSION_DENIED"},
	{apperr.ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED"},
}

func info(reason string) *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}
}

func withDetails(c codes.Code, msg string, details ...protoadapt.MessageV1) error {
	st := status.New(c, msg)
	if withD, err := st.WithDetails(details...); err == nil {
		st = withD
	}
	return st.Err()
}

func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

// logCall logs one line per RPC. The error text is not logged here: domain
// errors describe input (which may be personal data) and internal errors are
// logged once, with detail, by toStatus.
func (s *Server) logCall(ctx context.Context, method string, start time.Time, err error) {
	code := codes.OK
	if err != nil {
		code = s.codeOf(err)
	}
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown {
		level = slog.LevelError
	}
	if s.quietHealth && method == "/grpc.health.v1.Health/Check" && code == codes.OK {
		return
	}
	if code == codes.OK && s.quiet[method] {
		level = slog.LevelDebug
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
		slog.String("request_id", RequestID(ctx)),
	}
	if id, ok := auth.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("subject", id.Subject))
	}
	s.logger.LogAttrs(ctx, level, "rpc", attrs...)
}

// codeOf predicts the code toStatus will give err, for the log line.
func (s *Server) codeOf(err error) codes.Code {
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	if _, ok := apperr.AsInvalid(err); ok {
		return codes.InvalidArgument
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	if errors.Is(err, context.Canceled) {
		return codes.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

func (s *Server) authenticate(ctx context.Context, method string) (context.Context, error) {
	if isPublic(method) {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	id, err := s.authn.Authenticate(ctx, md)
	if err != nil {
		return nil, err
	}
	return auth.WithIdentity(ctx, id), nil
}

// isPublic lists the methods that need no credentials: health and reflection,
// which probes and operators use.
func isPublic(method string) bool {
	switch method {
	case "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo":
		return true
	}
	return false
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, wrappedStream{ss, ctx})
}

// Authorizer decides what an authenticated caller may do; authz.Policy is
// the implementation every server uses.
type Authorizer interface {
	// Authorize returns an error wrapping apperr.ErrPermissionDenied when
	// the caller in ctx may not call method with req (nil for streams).
	Authorize(ctx context.Context, method string, req any) error
	// Filter removes from resp, in place, what the caller may not see, or
	// denies the whole response.
	Filter(ctx context.Context, method string, resp any) error
}

func (s *Server) authzUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if isPublic(info.FullMethod) {
		return handler(ctx, req)
	}
	if err := s.authz.Authorize(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Filter(ctx, info.FullMethod, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Server) authzStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !isPublic(info.FullMethod) {
		if err := s.authz.Authorize(ss.Context(), info.FullMethod, nil); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

// RequestValidator checks a request's semantics (formats, ranges,
// consistency) without side effects. A service that provides one lets the
// validation interceptor report every problem of a request in one answer:
// without it, a request missing a REQUIRED field learns only about the
// missing fields, and the rest on its next try.
type RequestValidator interface {
	// ValidateRequest returns an *apperr.InvalidError listing the request's
	// violations, or nil. It must not read or write any store.
	ValidateRequest(ctx context.Context, req any) error
}

// ItemValidator is a RequestValidator that checks some requests entirely
// itself: for those the interceptor skips its REQUIRED check and trusts
// ValidateRequest alone. A batch RPC whose items are accepted or rejected one
// by one uses it, so that one item missing a REQUIRED field does not fail
// the whole call.
type ItemValidator interface {
	RequestValidator
	// ValidatesItems reports whether req's REQUIRED fields are checked by
	// the handler, item by item.
	ValidatesItems(req any) bool
}

func (s *Server) validateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	m, ok := req.(proto.Message)
	if !ok {
		return handler(ctx, req)
	}
	if iv, ok := s.validator.(ItemValidator); ok && iv.ValidatesItems(req) {
		if err := iv.ValidateRequest(ctx, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	err := validate.Required(m)
	if err == nil {
		return handler(ctx, req)
	}
	if s.validator == nil {
		return nil, err
	}
	return nil, mergeInvalid(err, s.validator.ValidateRequest(ctx, req))
}

// mergeInvalid joins the violations of two validation errors. It keeps the
// first description given for a field and drops violations nested inside a
// field already reported (a missing "facts" makes "facts.discovered_at"
// noise).
func mergeInvalid(first, second error) error {
	a, _ := apperr.AsInvalid(first)
	b, ok := apperr.AsInvalid(second)
	if !ok {
		return first
	}
	v := append(apperr.Violations(nil), a.Violations...)
	for _, fv := range b.Violations {
		if !coveredBy(fv.Field, v) {
			v = append(v, fv)
		}
	}
	return v.Err()
}

func coveredBy(field string, v apperr.Violations) bool {
	for _, have := range v {
		if field == have.Field || strings.HasPrefix(field, have.Field+".") || strings.HasPrefix(field, have.Field+"[") {
			return true
		}
	}
	return false
}
