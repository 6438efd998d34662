package migrations_test

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/migrations"
)

func TestLockKeys(t *testing.T) {
	t.Parallel()
	// The crank's key is the one replicas of older builds take: a rolling
	// deploy keeps one active replica per kind.
	for kind, want := range map[string]int64{"executor": 1429996682125369966, "migrator": 2510432265478684604} {
		if got := migrations.LockKey(migrations.CrankLock(kind)); got != want {
			t.Errorf("LockKey(CrankLock(%q)) = %d, want %d (the key earlier builds take)", kind, got, want)
		}
	}
	names := []string{migrations.WriterLock, migrations.TemplateLock, migrations.CrankLock("executor"), migrations.CrankLock("migrator")}
	seen := map[int64]string{}
	for _, n := range names {
		k := migrations.LockKey(n)
		if k != migrations.LockKey(n) {
			t.Errorf("LockKey(%q) is not stable", n)
		}
		if other, ok := seen[k]; ok {
			t.Errorf("LockKey(%q) = LockKey(%q) = %#x", n, other, k)
		}
		seen[k] = n
	}
}
