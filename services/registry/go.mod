module github.com/breachline/breachline/services/registry

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	go.mongodb.org/mongo-driver/v2 v2.10.0
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)
