module github.com/breachline/breachline/deploy

go 1.26

require (
	github.com/blang/semver/v4 v4.0.0 // indirect
	sigs.k8s.io/kustomize/api v0.21.1 // indirect
)
