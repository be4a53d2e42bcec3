package worker

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
)

// CLIVersion is the temporal CLI release `make tools` builds.
const CLIVersion = "v1.5.1"

// FindCLI locates the temporal CLI: $TEMPORAL_CLI, then bin/temporal at the module root, then PATH.
func FindCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidate := filepath.Join(dir, "bin", "temporal")
				if _, err := os.Stat(candidate); err == nil {
					return candidate, nil
				}
				break
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("the temporal CLI was not found: run `make tools` (builds bin/temporal " + CLIVersion +
		") or set TEMPORAL_CLI")
}

// devServerTuning makes the dev server fire timers (workflow sleeps, activity retry backoff)
// within ~10ms of their time instead of on its default 1s ticks, so short retry intervals behave
// as configured. A production cluster keeps the default: sub-second intervals round up there.
var devServerTuning = []string{"--dynamic-config-value", `history.timerProcessorMaxTimeShift="10ms"`}

// DevServerOptions configures a local Temporal dev server.
type DevServerOptions struct {
	// Address to bind (host:port); empty picks a free loopback port.
	Address string
	// Namespace to create; "default" when empty.
	Namespace string
	// UIPort serves the Web UI when set; empty runs headless.
	UIPort string
	// DBFile persists history in SQLite across restarts; empty keeps it in memory.
	DBFile string
	// Output receives the server's logs; nil discards them.
	Output io.Writer
	// CodecEndpoint is the codec server the Web UI decodes payloads with
	// (`--ui-codec-endpoint`), the API's /codec; the browser calls it directly.
	CodecEndpoint string
}

// StartDevServer starts `temporal server start-dev` with Switchyard's search attributes
// registered, and returns once it answers.
func StartDevServer(ctx context.Context, opts DevServerOptions) (*testsuite.DevServer, error) {
	cli, err := FindCLI()
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	args := append(SearchAttributeFlags(), devServerTuning...)
	if opts.CodecEndpoint != "" && opts.UIPort != "" {
		args = append(args, "--ui-codec-endpoint", opts.CodecEndpoint)
	}
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{HostPort: opts.Address, Namespace: opts.Namespace},
		DBFilename:    opts.DBFile,
		EnableUI:      opts.UIPort != "",
		UIPort:        opts.UIPort,
		LogLevel:      "error",
		LogFormat:     "json",
		ExtraArgs:     args,
		Stdout:        out,
		Stderr:        out,
	})
}
