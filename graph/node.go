package graph

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
)

// Node is a value of the Node interface: a *store.Governance,
// *store.ManagedProgram, *store.Release, *store.Proposal, *store.Approval,
// *store.Migration or *store.Event.
// The generated code tells them apart by their Go type.
type Node any

// Global ids are base64url of "<type>:<key>": the type names what node()
// loads, the key is the object's own (an address, a program id, a seq).
const (
	nodeGovernance = "Governance"
	nodeProgram    = "ManagedProgram"
	nodeProposal   = "Proposal"
	nodeMigration  = "Migration"
	nodeEvent      = "Event"
	nodeRelease    = "Release"  // key: program id ":" release number
	nodeApproval   = "Approval" // key: the seq of the event that gave it
)

func globalID(typ, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + key))
}

// parseGlobalID returns the type and key of a global id.
func parseGlobalID(id string) (typ, key string, err error) {
	b, derr := base64.RawURLEncoding.Strict().DecodeString(id)
	typ, key, ok := strings.Cut(string(b), ":")
	if derr != nil || len(id) > 200 || !ok || key == "" {
		return "", "", badInput("id %q is not a global id of this API", truncate(id))
	}
	return typ, key, nil
}

// node loads the object a global id names; nil when it does not exist.
func (r *Resolver) node(ctx context.Context, id string) (Node, error) {
	typ, key, err := parseGlobalID(id)
	if err != nil {
		return nil, err
	}
	l := r.loadersFor(ctx)
	// A missing object is a nil pointer of its type: return an untyped nil
	// so that the field is null.
	switch typ {
	case nodeGovernance:
		if v, err := loadOne(ctx, l.Governance(), key); v != nil || err != nil {
			return v, err
		}
	case nodeProgram:
		if v, err := loadOne(ctx, l.Program(), key); v != nil || err != nil {
			return v, err
		}
	case nodeProposal:
		if v, err := loadOne(ctx, l.Proposal(), key); v != nil || err != nil {
			return v, err
		}
	case nodeMigration:
		if v, err := loadOne(ctx, l.Migration(), key); v != nil || err != nil {
			return v, err
		}
	case nodeEvent, nodeApproval:
		seq, perr := strconv.ParseInt(key, 10, 64)
		if perr != nil || seq <= 0 {
			return nil, badInput("id %q is not a global id of this API", truncate(id))
		}
		if typ == nodeApproval {
			if v, err := r.Store.ApprovalBySeq(ctx, seq); v != nil || err != nil {
				return v, err
			}
		} else if v, err := r.Store.EventBySeq(ctx, seq); v != nil || err != nil {
			return v, err
		}
	case nodeRelease:
		program, number, _ := strings.Cut(key, ":")
		n, perr := strconv.ParseInt(number, 10, 64)
		if perr != nil || n <= 0 || program == "" {
			return nil, badInput("id %q is not a global id of this API", truncate(id))
		}
		if v, err := r.Store.Release(ctx, program, n); v != nil || err != nil {
			return v, err
		}
	default:
		return nil, badInput("id %q is not a global id of this API", truncate(id))
	}
	return nil, nil
}
