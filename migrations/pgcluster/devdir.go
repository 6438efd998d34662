package pgcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// rootDevDir is the development cluster directory for root, beside the
// project's other caches such as CARGO_TARGET_DIR.
const rootDevDir = "/var/cache/upgrade-manager/pg-dev"

// DevDir returns the directory of the persistent development cluster:
// $XDG_CACHE_HOME/upgrade-manager/pg-dev, falling back to
// ~/.cache/upgrade-manager/pg-dev. For root without XDG_CACHE_HOME it is
// /var/cache/upgrade-manager/pg-dev, because the server then runs as the
// postgres user, who cannot enter /root.
func DevDir() (string, error) {
	if os.Geteuid() == 0 && os.Getenv("XDG_CACHE_HOME") == "" {
		return rootDevDir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(cache, "upgrade-manager", "pg-dev"), nil
}
