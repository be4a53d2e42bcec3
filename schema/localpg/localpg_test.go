package localpg

import (
	"context"
	"database/sql"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/stretchr/testify/require"
)

// As root (CI, `make dev` in a container) the server runs as the postgres user, who may not
// enter a clone under /root: the cluster must move where that user can reach it, and come back
// to the same place on the next run. As anyone else it simply lives where it was asked to.
func TestClusterInAPrivateDirectoryStartsAndKeepsItsData(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	private := privateDir(t)
	base := traversableDir(t)
	requested := filepath.Join(private, ".data", "pg")

	c, err := New(requested, WithRootBase(base))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Remove() })
	require.Equal(t, requested, c.Requested)
	root := os.Geteuid() == 0
	if root {
		require.Equal(t, base, filepath.Dir(c.Dir), "root's cluster moves under the base")
	} else {
		require.Equal(t, requested, c.Dir, "our own cluster stays where it was asked to be")
	}

	require.NoError(t, c.Start(ctx))
	info, err := os.Stat(c.Dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	if root {
		pg, err := user.Lookup(envOr("PG_RUN_AS", "postgres"))
		require.NoError(t, err)
		require.Equal(t, pg.Uid, strconv.Itoa(int(info.Sys().(*syscall.Stat_t).Uid)), "the server's user owns it")
		origin, err := os.ReadFile(filepath.Join(c.Dir, originFile))
		require.NoError(t, err)
		require.Equal(t, requested+"\n", string(origin))
	}
	require.Equal(t, 1, selectOne(t, c.URL("postgres")))
	require.NoError(t, c.CreateDatabase(ctx, "kept", ""))
	require.NoError(t, c.Stop())

	again, err := New(requested, WithRootBase(base), WithPort(c.Port))
	require.NoError(t, err)
	require.Equal(t, c.Dir, again.Dir, "the same directory finds the same cluster")
	require.NoError(t, again.Start(ctx))
	require.Equal(t, 1, selectOne(t, again.URL("kept")))

	require.NoError(t, again.Remove())
	require.NoDirExists(t, again.Dir)
	require.NoDirExists(t, requested)
}

func TestServerUserIsBlockedWhereModeBitsSaySo(t *testing.T) {
	t.Parallel()
	me, gid := os.Getuid(), os.Getgid()
	someoneElse := otherID(me)
	base := traversableDir(t)
	dir := filepath.Join(base, "dir")
	require.NoError(t, os.Mkdir(dir, 0o700))

	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		user    serverUser
		blocked bool
	}{
		{"the owner enters through the owner bits", 0o700, serverUser{uid: me, gid: someoneElse}, false},
		{"the owner is held to the owner bits even when others may enter", 0o077, serverUser{uid: me, gid: someoneElse}, true},
		{"a member of the group enters through the group bits", 0o710, serverUser{uid: someoneElse, gid: someoneElse, groups: []int{gid}}, false},
		{"a member of the group is held to the group bits", 0o701, serverUser{uid: someoneElse, gid: gid}, true},
		{"anyone else enters through the others bits", 0o701, serverUser{uid: someoneElse, gid: someoneElse}, false},
		{"anyone else is kept out of a private directory", 0o700, serverUser{uid: someoneElse, gid: someoneElse}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.Chmod(dir, tc.mode))
			blocked, err := tc.user.blockedAt(dir)
			require.NoError(t, err)
			if tc.blocked {
				require.Contains(t, blocked, dir)
			} else {
				require.NotContains(t, blocked, dir)
			}
		})
	}
	require.NoError(t, os.Chmod(dir, 0o700))
}

func TestRootsClusterMovesOnlyWhenItMust(t *testing.T) {
	t.Parallel()
	nobody := &serverUser{name: "nobody", uid: otherID(os.Getuid()), gid: otherID(os.Getgid())}
	private := privateDir(t)
	base := traversableDir(t)

	t.Run("a reachable directory is kept", func(t *testing.T) {
		open := filepath.Join(base, "pg")
		c := &Cluster{Dir: open, Requested: open, owner: nobody}
		require.NoError(t, c.placeForRoot(base))
		require.Equal(t, open, c.Dir)
	})
	t.Run("an unreachable directory moves to the same place under the base every time", func(t *testing.T) {
		hidden := filepath.Join(private, "pg")
		first := &Cluster{Dir: hidden, Requested: hidden, owner: nobody}
		second := &Cluster{Dir: hidden, Requested: hidden, owner: nobody}
		require.NoError(t, first.placeForRoot(base))
		require.NoError(t, second.placeForRoot(base))
		require.Equal(t, base, filepath.Dir(first.Dir))
		require.Equal(t, first.Dir, second.Dir)
		other := &Cluster{Dir: hidden + "2", Requested: hidden + "2", owner: nobody}
		require.NoError(t, other.placeForRoot(base))
		require.NotEqual(t, first.Dir, other.Dir, "another directory gets its own cluster")
	})
	t.Run("with no reachable place the error says what to do", func(t *testing.T) {
		hidden := filepath.Join(private, "pg")
		c := &Cluster{Dir: hidden, Requested: hidden, owner: nobody}
		err := c.placeForRoot(filepath.Join(private, "base"))
		require.Error(t, err)
		t.Log(err)
		require.ErrorContains(t, err, "run as a non-root user, set DATABASE_URL, or chmod o+x")
		require.ErrorContains(t, err, private)
	})
}

// privateDir is a new directory only its owner may enter, like a clone under /root.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(traversableDir(t), "private")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o700)) // whatever the umask
	return dir
}

// traversableDir is a new directory anyone may enter (t.TempDir's are private).
func traversableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg-test-")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.RemoveAll(dir)) })
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

func selectOne(t *testing.T, url string) int {
	t.Helper()
	db, err := sql.Open("postgres", url)
	require.NoError(t, err)
	defer db.Close()
	var one int
	require.NoError(t, db.QueryRow(`SELECT 1`).Scan(&one))
	return one
}

// otherID is a user or group id that is not id.
func otherID(id int) int {
	if id == 65534 {
		return 65533
	}
	return 65534
}
