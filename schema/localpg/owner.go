package localpg

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// asPostgresUser makes cmd run as the "postgres" system user (or PG_RUN_AS) and hands dir to it:
// PostgreSQL will not run as root.
func asPostgresUser(cmd *exec.Cmd, dir string) error {
	name := envOr("PG_RUN_AS", "postgres")
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("PostgreSQL cannot run as root and user %q does not exist (set PG_RUN_AS): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("handing %s to %s: %w", dir, name, err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return nil
}
