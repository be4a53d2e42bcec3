// Package localpg runs a throwaway PostgreSQL cluster from the installed server binaries: the
// database behind `make dev` (under .data/) and behind the test suites when DATABASE_URL is unset.
//
// PostgreSQL refuses to run as root, so when we are root the server runs as the postgres user
// (PG_RUN_AS), and a cluster asked to live where that user cannot reach (a clone in a private
// directory such as /root/x) lives under DefaultRootBase instead.
package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cluster is a PostgreSQL data directory and the server running on it.
type Cluster struct {
	// Dir holds the data directory (Dir/data), the socket directory and the server log. It is
	// Requested unless root had to move the cluster where the server's user can reach it.
	Dir string
	// Requested is the directory New was given (absolute).
	Requested string
	// Port the server listens on (loopback only).
	Port int
	// User is the superuser initdb creates; trust authentication on loopback.
	User string

	bin      string
	rootBase string
	owner    *serverUser // the user the server runs as; nil unless we are root
	started  bool
}

// Option adjusts a Cluster before it starts.
type Option func(*Cluster)

// WithPort picks the port; the default is a free one.
func WithPort(port int) Option { return func(c *Cluster) { c.Port = port } }

// WithRootBase sets where a cluster started by root lives when the server's user cannot reach
// the requested directory; the default is DefaultRootBase.
func WithRootBase(dir string) Option { return func(c *Cluster) { c.rootBase = dir } }

// New prepares a cluster in dir. Nothing runs until Start. When we are root and the server's
// user cannot reach dir, Dir is a directory under the root base named after dir instead.
func New(dir string, opts ...Option) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, Requested: abs, User: "postgres", rootBase: DefaultRootBase}
	for _, o := range opts {
		o(c)
	}
	if c.bin, err = FindBinaries(); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if c.owner, err = lookupServerUser(); err != nil {
			return nil, err
		}
		if err := c.placeForRoot(c.rootBase); err != nil {
			return nil, err
		}
	}
	if c.Port == 0 {
		if c.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// FindBinaries locates initdb and pg_ctl: $PG_BIN, then pg_config --bindir, then the newest
// /usr/lib/postgresql/*/bin.
func FindBinaries() (string, error) {
	var candidates []string
	if dir := os.Getenv("PG_BIN"); dir != "" {
		candidates = append(candidates, dir)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	candidates = append(candidates, versions...)
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql " +
		"(apt-get install postgresql) or set PG_BIN")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// URL is the connection string for database name on this cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", c.User, c.Port, database)
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// Start initialises the data directory when it is new and starts the server. A data directory
// left by an earlier run is reused, so a second start keeps the data.
func (c *Cluster) Start(ctx context.Context) error {
	// The parents stay traversable: the server runs as another user when we are root.
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(c.Dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := c.noteOrigin(); err != nil {
		return err
	}
	if err := c.handOver(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", c.User, "--auth=trust",
			"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
			return fmt.Errorf("initdb: %w", err)
		}
	}
	// A server left running by a killed process would hold the port and the data directory.
	_ = c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "immediate", "stop")
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200 "+
		"-c fsync=%s -c synchronous_commit=%s -c full_page_writes=%s",
		c.Port, c.Dir, envOr("PG_FSYNC", "on"), envOr("PG_SYNCHRONOUS_COMMIT", "on"), envOr("PG_FSYNC", "on"))
	if err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(c.Dir, "server.log"),
		"-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("starting PostgreSQL on port %d (log: %s): %w", c.Port,
			filepath.Join(c.Dir, "server.log"), err)
	}
	c.started = true
	return nil
}

// CreateDatabase creates name (from template when not empty) unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", c.User}
	if template != "" {
		args = append(args, "-T", template)
	}
	args = append(args, name)
	err := c.run(ctx, "createdb", args...)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// Stop shuts the server down (fast mode: running sessions are ended, data is kept).
func (c *Cluster) Stop() error {
	if !c.started {
		return nil
	}
	c.started = false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop")
}

// Remove stops the server and deletes its directory (and the requested one, when root moved it).
func (c *Cluster) Remove() error {
	err := c.Stop()
	return errors.Join(err, os.RemoveAll(c.Dir), os.RemoveAll(c.Requested))
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, tool), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	c.runAsOwner(cmd)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
