package notify_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/notify"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	in := notify.Payload{LastSeq: 7, Slot: 42, Rebuilt: true, Reason: notify.RebuildRevert,
		Signatures: []string{"sig"}, RemovedSeqs: []int64{5, 6}, Proposals: []string{"p"}, Governances: []string{"g"}}
	s, sent, err := notify.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent, in) {
		t.Errorf("Encode changed a payload that fits: %+v", sent)
	}
	out, err := notify.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}

func TestEncodeTruncatesToFit(t *testing.T) {
	t.Parallel()
	in := notify.Payload{LastSeq: 1, Rebuilt: true, Reason: notify.RebuildRevert}
	for i := range 500 {
		in.Signatures = append(in.Signatures, fmt.Sprintf("%088d", i))
	}
	s, sent, err := notify.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) > notify.MaxPayload {
		t.Errorf("payload is %d bytes, more than %d", len(s), notify.MaxPayload)
	}
	if !sent.Truncated || sent.Signatures != nil || sent.LastSeq != 1 || !sent.Rebuilt {
		t.Errorf("truncated payload: %+v", sent)
	}
	if !strings.Contains(s, `"truncated":true`) {
		t.Errorf("payload does not say it was truncated: %s", s)
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	t.Parallel()
	p, err := notify.Decode(`{"last_seq":3,"future_field":[1,2]}`)
	if err != nil || p.LastSeq != 3 {
		t.Errorf("Decode = %+v, %v", p, err)
	}
	if _, err := notify.Decode(`{"last_seq":"x"}`); err == nil {
		t.Error("Decode accepted a string seq")
	}
}

// FuzzDecode: a payload is outside bytes to a listener (anyone who can
// connect may NOTIFY the channel). Decode never panics, and what it accepts
// encodes and decodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add(`{"last_seq":1,"slot":2}`)
	f.Add(`{"last_seq":9,"rebuilt":true,"reason":"revert","signatures":["a"],"removed_seqs":[1]}`)
	f.Add(`null`)
	f.Add(`{"last_seq":1e30}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := notify.Decode(s)
		if err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal decoded payload: %v", err)
		}
		q, err := notify.Decode(string(b))
		if err != nil {
			t.Fatalf("decode re-encoded payload %s: %v", b, err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Errorf("round trip: %+v became %+v", p, q)
		}
	})
}

// normalize makes empty and nil lists equal (omitempty drops both).
func normalize(p notify.Payload) notify.Payload {
	if len(p.Signatures) == 0 {
		p.Signatures = nil
	}
	if len(p.RemovedSeqs) == 0 {
		p.RemovedSeqs = nil
	}
	if len(p.Proposals) == 0 {
		p.Proposals = nil
	}
	if len(p.Governances) == 0 {
		p.Governances = nil
	}
	return p
}
