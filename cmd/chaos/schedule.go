package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// FaultClass names one kind of fault the run injects.
type FaultClass string

// The fault classes. Each is injected at least Config.FaultsPerClass times.
const (
	FaultWSDevDisconnect FaultClass = "ws_dev_disconnect" // localnet's dev_disconnectWebsockets
	FaultProxyDrop       FaultClass = "proxy_drop"        // the proxy closes every connection
	FaultKillIndexer     FaultClass = "kill_indexer"      // SIGKILL one indexer
	FaultKillCrank       FaultClass = "kill_crank"        // SIGKILL one executor or migration driver
	FaultKillGraphQL     FaultClass = "kill_graphql"      // SIGKILL one GraphQL replica
	FaultPGRestart       FaultClass = "pg_restart"        // pg_ctl restart -m immediate
	FaultHTTP429         FaultClass = "http_429"
	FaultHTTP500         FaultClass = "http_500"
	FaultHTTP503         FaultClass = "http_503"
	FaultSlow            FaultClass = "rpc_slow"
	FaultRPC32004        FaultClass = "rpc_32004"
	FaultRPC32005        FaultClass = "rpc_32005"
	FaultWSDuplicate     FaultClass = "ws_duplicate"
	FaultWSDelay         FaultClass = "ws_delay"
	FaultFork            FaultClass = "fork"           // dev_rollback: unfinalized slots abandoned
	FaultSubscriberCut   FaultClass = "subscriber_cut" // a GraphQL subscriber's connection cut; it resumes by cursor
)

// AllFaults lists every class in a fixed order (the schedule depends on it).
var AllFaults = []FaultClass{
	FaultWSDevDisconnect, FaultProxyDrop, FaultKillIndexer, FaultKillCrank, FaultKillGraphQL,
	FaultPGRestart, FaultHTTP429, FaultHTTP500, FaultHTTP503, FaultSlow, FaultRPC32004,
	FaultRPC32005, FaultWSDuplicate, FaultWSDelay, FaultFork, FaultSubscriberCut,
}

// ScheduledFault is one fault at one moment of the run.
type ScheduledFault struct {
	At    time.Duration // from the start of the workload
	Class FaultClass
	// Pick chooses among the class's targets (which indexer, which crank) and sizes
	// (how long a window lasts, how many slots a fork abandons).
	Pick uint64
}

// Schedule returns perClass faults of each class at uniformly random moments of
// [0, window), sorted by time; the same seed gives the same schedule.
func Schedule(seed uint64, window time.Duration, perClass int, classes []FaultClass) []ScheduledFault {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []ScheduledFault
	for _, c := range classes {
		for range perClass {
			out = append(out, ScheduledFault{At: time.Duration(r.Int64N(int64(window))), Class: c, Pick: r.Uint64()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

func (f ScheduledFault) String() string {
	return fmt.Sprintf("%8.1fs %s", f.At.Seconds(), f.Class)
}
