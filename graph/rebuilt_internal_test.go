package graph

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
)

// The cursor a subscription ended by a rebuild resumes after. Found by the chaos run (seed 11):
// a subscriber sent events 2212–2214 after a rebuild whose log ended at 2211 was told to resume
// after 2211 (RESYNC: nothing removed), and got the three again.
func TestRebuiltErrorResumesAfterWhatIsStillInTheLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		r        fanout.Rebuilt
		sent     int64
		code     string
		resumeAt int64
	}{
		{"resync, events sent after the rebuild", fanout.Rebuilt{LastSeq: 2211, PublishedSeq: 2211}, 2214, CodeResync, 2214},
		{"resync, nothing sent after", fanout.Rebuilt{LastSeq: 2211, PublishedSeq: 2211}, 2200, CodeResync, 2200},
		{"revert of events sent", fanout.Rebuilt{LastSeq: 2205, PublishedSeq: 2211}, 2211, CodeReverted, 2205},
		{"revert of events not sent to this subscription", fanout.Rebuilt{LastSeq: 2205, PublishedSeq: 2211}, 2200, CodeReverted, 2200},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := rebuiltError(&c.r, c.sent)
			if e.Extensions["code"] != c.code {
				t.Errorf("code = %v, want %s", e.Extensions["code"], c.code)
			}
			if got := e.Extensions["cursor"]; got != EventCursor(c.resumeAt) {
				t.Errorf("cursor = %v, want the cursor of seq %d", got, c.resumeAt)
			}
		})
	}
}
