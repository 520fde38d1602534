//go:build tools

// Package traefik pins Traefik for the local cluster's gateway (e2e.expose).
//
// Traefik's module carries replace and exclude directives, so `go install`
// refuses it; e2e/cluster/images.sh writes a go.mod beside this file that
// requires github.com/traefik/traefik/v3 with those directives copied, and
// builds the module's own main package, github.com/traefik/traefik/v3/cmd/traefik.
// This file only keeps that requirement in the module graph (`go mod tidy`).
package traefik

import (
	_ "github.com/traefik/traefik/v3/cmd/traefik"
)
