package localpg

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// DefaultRootBase is where a cluster started by root lives when the server's user cannot reach
// the directory it was asked for (a clone under /root, say): one directory per requested path.
const DefaultRootBase = "/var/lib/switchyard"

// originFile, in a relocated cluster's directory, names the directory it stands in for.
const originFile = "origin"

// serverUser is the system user the server runs as when we are root: PostgreSQL refuses root.
type serverUser struct {
	name     string
	uid, gid int
	groups   []int
}

// lookupServerUser finds the "postgres" system user, or the one PG_RUN_AS names.
func lookupServerUser() (*serverUser, error) {
	name := envOr("PG_RUN_AS", "postgres")
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL cannot run as root and user %q does not exist "+
			"(create it, set PG_RUN_AS, run as a non-root user, or set DATABASE_URL): %w", name, err)
	}
	su := &serverUser{name: name}
	su.uid, _ = strconv.Atoi(u.Uid)
	su.gid, _ = strconv.Atoi(u.Gid)
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if id, err := strconv.Atoi(g); err == nil {
			su.groups = append(su.groups, id)
		}
	}
	return su, nil
}

// blockedAt returns the existing directories on the way to path that u may not enter, topmost
// first; none when u reaches path. Directories that do not exist yet are created 0755, so they
// never block. Only mode bits are read (no ACLs).
func (u *serverUser) blockedAt(path string) ([]string, error) {
	var ancestors []string
	for dir := filepath.Clean(path); ; dir = filepath.Dir(dir) {
		ancestors = append(ancestors, dir)
		if dir == filepath.Dir(dir) {
			break
		}
	}
	slices.Reverse(ancestors)
	var blocked []string
	for _, dir := range ancestors {
		info, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !u.canSearch(info) {
			blocked = append(blocked, dir)
		}
	}
	return blocked, nil
}

// canSearch applies the kernel's rule: the owner bits when u owns it, else the group bits when
// u is in its group, else the others bits.
func (u *serverUser) canSearch(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := info.Mode().Perm()
	switch {
	case int(st.Uid) == u.uid:
		return mode&0o100 != 0
	case int(st.Gid) == u.gid || slices.Contains(u.groups, int(st.Gid)):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// placeForRoot picks the directory a root-started cluster asked to live in dir really lives in:
// dir itself when the server's user can reach it, else a directory under base named after dir,
// so the same dir finds the same data on every run.
func (c *Cluster) placeForRoot(base string) error {
	blocked, err := c.owner.blockedAt(filepath.Dir(c.Dir))
	if err != nil || len(blocked) == 0 {
		return err
	}
	sum := sha256.Sum256([]byte(c.Dir))
	relocated := filepath.Join(base, "pg-"+hex.EncodeToString(sum[:])[:16])
	baseBlocked, err := c.owner.blockedAt(base)
	if err != nil {
		return err
	}
	if len(baseBlocked) > 0 {
		return c.unreachable(blocked, fmt.Sprintf(", nor %s on the way to %s, where it would run instead",
			strings.Join(baseBlocked, ", "), relocated))
	}
	c.Dir = relocated
	return nil
}

// unreachable explains that the server's user cannot enter the blocked directories on the way
// to Dir (and whatever more is said), and what to do about it.
func (c *Cluster) unreachable(blocked []string, more string) error {
	return fmt.Errorf("PostgreSQL cannot run as root and runs as %s, who may not enter %s on the way to %s%s: "+
		"run as a non-root user, set DATABASE_URL, or chmod o+x %s",
		c.owner.name, strings.Join(blocked, ", "), c.Dir, more, strings.Join(blocked, " "))
}

// noteOrigin records in a relocated cluster's directory which directory it stands in for, so
// whoever finds it under the base knows whose it is.
func (c *Cluster) noteOrigin() error {
	if c.Dir == c.Requested {
		return nil
	}
	return os.WriteFile(filepath.Join(c.Dir, originFile), []byte(c.Requested+"\n"), 0o644)
}

// handOver gives the cluster's directory, now made, to the server's user, once it is sure that
// user can reach it (a restrictive umask may have made its parents private).
func (c *Cluster) handOver() error {
	if c.owner == nil {
		return nil
	}
	blocked, err := c.owner.blockedAt(filepath.Dir(c.Dir))
	if err != nil {
		return err
	}
	if len(blocked) > 0 {
		return c.unreachable(blocked, "")
	}
	if err := os.Chown(c.Dir, c.owner.uid, c.owner.gid); err != nil {
		return fmt.Errorf("handing %s to %s: %w", c.Dir, c.owner.name, err)
	}
	return nil
}

// runAsOwner makes cmd run as the server's user, when there is one (we are root).
func (c *Cluster) runAsOwner(cmd *exec.Cmd) {
	if c.owner == nil {
		return
	}
	groups := make([]uint32, len(c.owner.groups))
	for i, g := range c.owner.groups {
		groups[i] = uint32(g)
	}
	// With its supplementary groups, so it reaches what blockedAt judged it reaches.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(c.owner.uid), Gid: uint32(c.owner.gid), Groups: groups}}
}
