// Package openapi embeds the OpenAPI (Swagger 2.0) document generated from
// the protos by protoc-gen-openapiv2 (`make generate` writes spec/).
package openapi

import _ "embed"

// Spec is the merged OpenAPI document for every REST route of the gateway.
//
//go:embed spec/breachline.swagger.json
var Spec []byte
