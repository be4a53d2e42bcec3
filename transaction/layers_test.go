package transaction_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/switchyard-hub/switchyard/"

// allowedImports is the layering of ARCHITECTURE.md: which of the module's packages each
// package may import (test files aside). Every package sits above transaction, the contract.
var allowedImports = map[string][]string{
	"transaction":    {},
	"seal":           {},
	"provider":       {"transaction"},
	"iso":            {"transaction"},
	"platform":       {"transaction", "provider", "seal"},
	"schema":         {"transaction"},
	"schema/localpg": {},
	"schema/pgtest":  {"schema", "schema/localpg"},
	"activities":     {"transaction", "provider", "iso", "schema", "platform"},
	"workflows":      {"transaction", "activities", "iso", "platform"},
	"worker":         {"transaction", "workflows", "activities", "seal"},
	"api":            {"transaction", "workflows", "schema", "provider", "iso", "platform"},
	"api/apitest":    {"api"},
	"sim":            {"transaction", "provider", "iso", "schema"},
	"docker":         {},
	"cmd/switchyard": nil, // wires everything
}

// TestPackagesImportOnlyWhatTheArchitectureAllows fails on an import edge the architecture
// forbids (the API importing activities, say), and on a package the map does not know.
func TestPackagesImportOnlyWhatTheArchitectureAllows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	scanner := bufio.NewScanner(bytes.NewReader(out))
	packages := 0
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		allowed, known := allowedImports[pkg]
		require.True(t, known, "package %s is not in the architecture's layering: add it to ARCHITECTURE.md and this test", pkg)
		packages++
		if allowed == nil {
			continue
		}
		for _, imp := range fields[1:] {
			if dep, ok := strings.CutPrefix(imp, module); ok {
				require.True(t, slices.Contains(allowed, dep), "%s must not import %s (see ARCHITECTURE.md)", pkg, dep)
			}
		}
	}
	require.Greater(t, packages, 10)
}
