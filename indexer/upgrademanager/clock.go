package upgrademanager

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Clock is the Clock sysvar (solana.SysVarClockPubkey): the program compares
// every deadline (voting period, timelock, grace period) with its
// UnixTimestamp, so clients read the chain's time here, never the local clock.
// It is not in the IDL, hence written by hand.
type Clock struct {
	Slot                uint64
	EpochStartTimestamp int64
	Epoch               uint64
	LeaderScheduleEpoch uint64
	UnixTimestamp       int64
}

// clockSize is the Clock sysvar's length: four 8-byte integers and the time.
const clockSize = 40

// DecodeClock decodes the Clock sysvar's account data.
func DecodeClock(data []byte) (Clock, error) {
	if len(data) < clockSize {
		return Clock{}, fmt.Errorf("clock sysvar has %d bytes, want %d", len(data), clockSize)
	}
	return Clock{
		Slot:                binary.LittleEndian.Uint64(data[0:8]),
		EpochStartTimestamp: int64(binary.LittleEndian.Uint64(data[8:16])),
		Epoch:               binary.LittleEndian.Uint64(data[16:24]),
		LeaderScheduleEpoch: binary.LittleEndian.Uint64(data[24:32]),
		UnixTimestamp:       int64(binary.LittleEndian.Uint64(data[32:40])),
	}, nil
}

// Time is the clock's unix_timestamp in UTC.
func (c Clock) Time() time.Time { return time.Unix(c.UnixTimestamp, 0).UTC() }
