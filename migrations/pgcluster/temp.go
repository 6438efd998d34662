package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tempPattern names the directories of throwaway clusters in os.TempDir.
const tempPattern = "upgrade-manager-pg-*"

// ownerFile holds the pid of the process that made a throwaway cluster.
const ownerFile = "owner"

// StartTemp starts a throwaway cluster in a new directory below os.TempDir.
// Its Stop stops the server and removes the directory; cfg.Dir must be
// empty. Before starting, StartTemp stops and removes the throwaway clusters
// left behind by processes that no longer exist, such as a test binary
// killed by its timeout.
func StartTemp(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir != "" {
		return nil, errors.New("pgcluster: StartTemp chooses its own Dir")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reapOrphans(ctx, logger)

	dir, err := os.MkdirTemp("", tempPattern)
	if err != nil {
		return nil, fmt.Errorf("create temporary cluster directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("record cluster owner: %w", err)
	}
	cfg.Dir = dir
	c, err := Start(ctx, cfg)
	if err != nil {
		// initdb or the server may have got far enough to need stopping.
		if bin, o, e := binAndOwner(ctx); e == nil {
			_ = stopServer(context.WithoutCancel(ctx), bin, o, dir, "immediate")
		}
		_ = os.RemoveAll(dir)
		return nil, err
	}
	c.onStop = func() error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove temporary cluster directory: %w", err)
		}
		return nil
	}
	return c, nil
}

// reapOrphans stops and removes the throwaway clusters whose owner process is
// gone. It is best effort: a cluster it cannot reap costs only resources,
// so failures are logged and skipped.
func reapOrphans(ctx context.Context, logger *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPattern)) // The pattern is well formed.
	if len(dirs) == 0 {
		return
	}
	bin, o, err := binAndOwner(ctx)
	if err != nil {
		return
	}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			// No owner file yet: its creator may be between MkdirTemp and
			// WriteFile. Leave it alone.
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processExists(pid) {
			continue
		}
		if err := stopServer(ctx, bin, o, dir, "immediate"); err != nil {
			logger.Warn("stop orphaned postgres", slog.String("dir", dir), slog.Any("error", err))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("remove orphaned postgres directory", slog.String("dir", dir), slog.Any("error", err))
			continue
		}
		logger.Info("reaped orphaned postgres", slog.String("dir", dir), slog.Int("owner_pid", pid))
	}
}

func binAndOwner(ctx context.Context) (string, *owner, error) {
	bin, err := FindBinaries()
	if err != nil {
		return "", nil, err
	}
	o, err := currentOwner(ctx)
	if err != nil {
		return "", nil, err
	}
	return bin, o, nil
}

func processExists(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
