package recording

import (
	"errors"
	"fmt"
)

// Config is the `recording` section.
type Config struct {
	// Dir is where recordings go, one directory per recording; empty disables recording
	// (the admin API answers 404).
	Dir string `mapstructure:"dir"`
	// QueuePackets bounds each recorded track's queue between the network and the disk;
	// a full queue drops packets (video until the next keyframe).
	QueuePackets int `mapstructure:"queue_packets"`
	// MaxRecordings caps the recordings running at once.
	MaxRecordings int `mapstructure:"max_recordings"`
	// Calls records every call's room from its begin to its end (needs Dir).
	Calls bool `mapstructure:"calls"`
}

// DefaultConfig returns the defaults: disabled, 1024 packets per track, 16 recordings,
// calls not recorded.
func DefaultConfig() Config { return Config{QueuePackets: 1024, MaxRecordings: 16} }

// Validate checks the section; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.QueuePackets < 16 || c.QueuePackets > 1<<20 {
		errs = append(errs, fmt.Errorf("recording.queue_packets: must be 16..1048576, got %d", c.QueuePackets))
	}
	if c.MaxRecordings < 1 || c.MaxRecordings > 10000 {
		errs = append(errs, fmt.Errorf("recording.max_recordings: must be 1..10000, got %d", c.MaxRecordings))
	}
	if c.Calls && c.Dir == "" {
		errs = append(errs, errors.New("recording.calls: needs recording.dir"))
	}
	return errors.Join(errs...)
}
