// Package pgtest gives test packages a real PostgreSQL: the server named by
// SWITCHYARD_TEST_DATABASE_URL, or a throwaway cluster it starts itself, and a fresh database
// per package cloned from a migrated template.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/localpg"
)

// EnvURL names the variable that points the tests at an existing server (a superuser URL).
const EnvURL = "SWITCHYARD_TEST_DATABASE_URL"

// Server is a PostgreSQL server the tests may create databases on.
type Server struct {
	adminURL string
	cluster  *localpg.Cluster
}

// StartServer finds the server named by SWITCHYARD_TEST_DATABASE_URL or starts a new cluster.
func StartServer(ctx context.Context) (*Server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return &Server{adminURL: u}, nil
	}
	dir, err := os.MkdirTemp("", "switchyard-pg-")
	if err != nil {
		return nil, err
	}
	cluster, err := localpg.New(dir)
	if err != nil {
		return nil, err
	}
	if err := cluster.Start(ctx); err != nil {
		_ = cluster.Remove()
		return nil, err
	}
	return &Server{adminURL: cluster.URL("postgres"), cluster: cluster}, nil
}

// Close stops a cluster this package started; a server from the environment is left alone.
func (s *Server) Close() error {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Remove()
}

// NewDatabase creates a fresh migrated database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	admin, err := sql.Open("postgres", s.adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connecting to test PostgreSQL: %w", err)
	}
	defer conn.Close()
	// One template per migration set, built once per server; the lock keeps concurrent test
	// packages from cloning a template while another session is still migrating it.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(4242)`)

	template := "switchyard_tmpl_" + migrationsDigest()
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`,
		template).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := s.buildTemplate(ctx, conn, template); err != nil {
			return "", err
		}
	}
	name := "switchyard_test_" + randomHex(6)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template)); err != nil {
		return "", fmt.Errorf("cloning test database: %w", err)
	}
	return s.databaseURL(name)
}

func (s *Server) buildTemplate(ctx context.Context, conn *sql.Conn, template string) error {
	building := template + "_building"
	_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building)
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("creating template database: %w", err)
	}
	u, err := s.databaseURL(building)
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", u)
	if err != nil {
		return err
	}
	_, err = schema.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, template))
	return err
}

func (s *Server) databaseURL(name string) (string, error) {
	u, err := url.Parse(s.adminURL)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Main runs a test package against a fresh database whose URL it stores in *dbURL. A server
// that cannot be reached fails the package: it is never skipped.
func Main(m *testing.M, dbURL *string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := StartServer(ctx)
	if err == nil {
		*dbURL, err = srv.NewDatabase(ctx)
	}
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL is required for these tests: %v\n", err)
		if srv != nil {
			_ = srv.Close()
		}
		return 1
	}
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
	}
	return code
}

// migrationsDigest names the template after the migrations it holds, so a changed migration
// gets a new template on a long-lived server.
func migrationsDigest() string {
	h := sha256.New()
	_ = fs.WalkDir(schema.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.Migrations(), path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
