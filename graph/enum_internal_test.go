package graph

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// The EventName enum lists exactly the IDL's events: Event.name of an event
// the schema does not know would be an internal error, and a filter could
// not select it.
func TestEventNameEnumIsTheIDLsEvents(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../program/idl/upgrade_manager.json")
	if err != nil {
		t.Fatal(err)
	}
	var idl struct {
		Events []struct{ Name string }
	}
	if err := json.Unmarshal(raw, &idl); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, e := range idl.Events {
		want = append(want, e.Name)
	}
	for _, n := range AllEventName {
		got = append(got, string(n))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("EventName = %v, the IDL's events = %v: update schema/event.graphqls", got, want)
	}
}

// Every config change variant of the IDL has a kind.
func TestConfigChangeKindsAreTheIDLsVariants(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../program/idl/upgrade_manager.json")
	if err != nil {
		t.Fatal(err)
	}
	var idl struct {
		Types []struct {
			Name string
			Type struct {
				Variants []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(raw, &idl); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ty := range idl.Types {
		if ty.Name != "ConfigChange" {
			continue
		}
		found = true
		if len(ty.Type.Variants) != len(AllConfigChangeKind) {
			t.Errorf("the IDL has %d config changes, ConfigChangeKind %d", len(ty.Type.Variants), len(AllConfigChangeKind))
		}
		for _, v := range ty.Type.Variants {
			if _, ok := configChangeKinds[v.Name]; !ok {
				t.Errorf("config change %s has no ConfigChangeKind", v.Name)
			}
		}
	}
	if !found {
		t.Fatal("the IDL has no ConfigChange type")
	}
}
