package server

import "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

// Marshaler exposes the gateway's marshaler to the fuzz tests.
func Marshaler() runtime.Marshaler { return marshaler() }
