package crank

import (
	"errors"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// The cranks act only while the read model holds the RPC's cluster: not
// before the indexer recorded it, not after the node restarted as another.
func TestCheckClusterRefusesAnotherClustersRows(t *testing.T) {
	t.Parallel()
	program := solana.MustPublicKeyFromBase58("UpgradeMgr111111111111111111111111111111111")
	pool, err := pgxpool.New(t.Context(), pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := rpctest.New(program.String())
	t.Cleanup(srv.Close)
	m := &Crank{cfg: Config{RPCURL: srv.URL(), ProgramID: program}, db: pool, redact: func(s string) string { return s }}
	client := rpc.New(srv.URL())

	if err := m.checkCluster(t.Context(), client); err == nil {
		t.Error("checkCluster before the indexer recorded a cluster = nil, want a refusal")
	}
	if err := store.SetClusterGenesis(t.Context(), pool, program.String(), "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"); err != nil {
		t.Fatal(err)
	}
	if err := m.checkCluster(t.Context(), client); err != nil {
		t.Errorf("checkCluster on the RPC's cluster = %v", err)
	}
	srv.SetGenesis("GH7ome3EiwEr7tu9JuTh2dpYWBJK3z69Xm1ZE3MEE6JC")
	if err := m.checkCluster(t.Context(), client); !errors.Is(err, store.ErrOtherCluster) {
		t.Errorf("checkCluster on another cluster = %v, want ErrOtherCluster", err)
	}
}
