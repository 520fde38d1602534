// Command hydra runs Ory Hydra, the OpenID Connect provider Byron's identity
// tests verify tokens against (docs/security.md, docs/testing.md).
//
// Hydra's module carries replace directives, so `go install` refuses it; the
// bootstrap builds this wrapper with those replaces copied into its go.mod
// (the hydra-client-go one points at a folder the module zip lacks and is
// pinned to the published v2.2.1 instead; only Hydra's CLI client uses it).
package main

import (
	"github.com/ory/hydra/v2/cmd"
)

func main() {
	cmd.Execute()
}
