package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// serverUser is the account the server runs as when the caller is root.
const serverUser = "postgres"

// owner is the account that runs initdb and the server. A nil *owner means
// the calling user, which is the case whenever the caller is not root.
type owner struct {
	uid, gid uint32
}

// currentOwner returns nil unless the process is root, in which case it
// returns the postgres user, creating it first when missing.
func currentOwner(ctx context.Context) (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		out, addErr := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home", serverUser).CombinedOutput()
		if addErr != nil {
			return nil, fmt.Errorf("create user %s: %w: %s", serverUser, addErr, strings.TrimSpace(string(out)))
		}
		u, err = user.Lookup(serverUser)
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of %s: %w", serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of %s: %w", serverUser, err)
	}
	return &owner{uid: uint32(uid), gid: uint32(gid)}, nil
}

// command returns a command that runs as o, in dir.
func (o *owner) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	// The caller's working directory may not be readable by o, and initdb
	// and postgres complain when they cannot return to it.
	cmd.Dir = dir
	if o != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			// An empty group list drops root's supplementary groups.
			Credential: &syscall.Credential{Uid: o.uid, Gid: o.gid, Groups: []uint32{}},
		}
	}
	return cmd
}

// mkdir creates dir (and missing parents, searchable by everyone) and gives
// it to o.
func (o *owner) mkdir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	if o == nil {
		return nil
	}
	if err := os.Chown(dir, int(o.uid), int(o.gid)); err != nil {
		return fmt.Errorf("give directory %s to %s: %w", dir, serverUser, err)
	}
	return nil
}

// ensureSearchable checks that o can reach dir through every directory above
// it. A temporary directory (below os.TempDir) that blocks the way gets
// search permission for others, which reveals no names; any other blocking
// directory is an error, because widening, say, /root is not this
// package's call.
func (o *owner) ensureSearchable(dir string) error {
	if o == nil {
		return nil
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		tmp = filepath.Clean(os.TempDir())
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inspect directory %s: %w", p, err)
		}
		if !o.canSearch(fi) {
			if !strings.HasPrefix(p, tmp+string(filepath.Separator)) {
				return fmt.Errorf("directory %s is not searchable by user %s, which runs the server: choose a cluster directory outside it", p, serverUser)
			}
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("make directory %s searchable: %w", p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (o *owner) canSearch(fi os.FileInfo) bool {
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return perm&0o001 != 0
	}
	switch {
	case st.Uid == o.uid:
		return perm&0o100 != 0
	case st.Gid == o.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
