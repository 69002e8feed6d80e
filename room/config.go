package room

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `room` section of the root configuration.
type Config struct {
	// EmptyTimeout is how long a room stays open with nobody in it.
	EmptyTimeout time.Duration `mapstructure:"empty_timeout"`
	// VolumeInterval is how often audio levels are reported to the room.
	VolumeInterval time.Duration `mapstructure:"volume_interval"`
	// QualityInterval is how often network quality is reported to the room.
	QualityInterval time.Duration `mapstructure:"quality_interval"`
	// MaxPendingRemoteViews bounds a participant's remote-view wishes (StartRemoteView,
	// SetRemoteViewQuality) for users who are not in the room (1..1024); one more is
	// refused with ErrTooManyRemoteViews. Wishes for users in the room are not counted.
	MaxPendingRemoteViews int `mapstructure:"max_pending_remote_views"`
	// MaxParticipants caps the participants of one room on this node (early ones
	// included); a join beyond is refused with ErrRoomFull. 0 (the default) is no cap,
	// else 2..MaxRoomParticipants (D328).
	MaxParticipants int `mapstructure:"max_participants"`
}

// MaxRoomParticipants is the largest room.max_participants.
const MaxRoomParticipants = 10000

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		EmptyTimeout:    30 * time.Second,
		VolumeInterval:  300 * time.Millisecond,
		QualityInterval: 2 * time.Second,
		// Remote-view wishes for users not (yet) in the room.
		MaxPendingRemoteViews: 32,
	}
}

// Validate checks every field; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.EmptyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("room.empty_timeout: must be > 0, got %s", c.EmptyTimeout))
	}
	if err := inRange(c.VolumeInterval, 100*time.Millisecond, 5*time.Second); err != nil {
		errs = append(errs, fmt.Errorf("room.volume_interval: %w", err))
	}
	if err := inRange(c.QualityInterval, 500*time.Millisecond, 60*time.Second); err != nil {
		errs = append(errs, fmt.Errorf("room.quality_interval: %w", err))
	}
	if c.MaxPendingRemoteViews < 1 || c.MaxPendingRemoteViews > 1024 {
		errs = append(errs, fmt.Errorf("room.max_pending_remote_views: must be 1..1024, got %d", c.MaxPendingRemoteViews))
	}
	if c.MaxParticipants != 0 && (c.MaxParticipants < 2 || c.MaxParticipants > MaxRoomParticipants) {
		errs = append(errs, fmt.Errorf("room.max_participants: must be 0 (no cap) or 2..%d, got %d", MaxRoomParticipants, c.MaxParticipants))
	}
	return errors.Join(errs...)
}

func inRange(d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("must be within %s..%s, got %s", lo, hi, d)
	}
	return nil
}
