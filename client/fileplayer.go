package client

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// filePlayer paces the frames of a media file (IVFVideo, OggOpus) in a loop. Frame i of
// the current pass is due offset + frames[i].ticks clock ticks after the start; each pass
// adds period, so RTP timestamps keep increasing across loops. It is owned by one send
// loop.
type filePlayer struct {
	frames []mediaFrame
	period int64
	next   int   // index of the next frame
	offset int64 // ticks added to frames[next].ticks
	loops  int   // completed passes
}

func newFilePlayer(frames []mediaFrame, period int64) *filePlayer {
	return &filePlayer{frames: frames, period: period}
}

// peek returns the next frame and when it is due, in clock ticks from the start (never
// less than the previous frame's).
func (p *filePlayer) peek() (*mediaFrame, int64) {
	f := &p.frames[p.next]
	return f, p.offset + f.ticks
}

// advance moves past the frame peek returned, to the file's start after its last frame.
func (p *filePlayer) advance() {
	p.next++
	if p.next == len(p.frames) {
		p.next = 0
		p.offset += p.period
		p.loops++
	}
}

// seekKeyframe makes the next frame the first keyframe at or after it (looping to the
// file's start), due when the frame it replaces was: a keyframe request skips ahead in the
// file, not in time.
func (p *filePlayer) seekKeyframe() {
	_, due := p.peek()
	for i := range p.frames {
		k := (p.next + i) % len(p.frames)
		if p.frames[k].keyframe {
			p.next = k
			p.offset = due - p.frames[k].ticks
			return
		}
	}
}

// playFile sends player's frames at the file's pace until Stop or a send error: send
// gets each frame and its time in clock ticks since the start (the RTP timestamp
// offset). A late frame is sent at once. When keyframeWanted is not nil and set, the next
// frame sent is a keyframe (seekKeyframe).
func (p *Publisher) playFile(player *filePlayer, clockRate int64, keyframeWanted *atomic.Bool, send func(f *mediaFrame, ticks int64) error) error {
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if keyframeWanted != nil && keyframeWanted.Swap(false) {
			player.seekKeyframe()
		}
		f, ticks := player.peek()
		if wait := time.Until(start.Add(ticksToDuration(ticks, clockRate))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-p.stop:
				return nil
			case <-timer.C:
			}
		} else {
			select {
			case <-p.stop:
				return nil
			default:
			}
		}
		if err := send(f, ticks); err != nil {
			return err
		}
		player.advance()
	}
}

// sendVideoFile sends PublisherConfig.VideoFile's VP8 frames at the file's pace, looping;
// each frame is packetized like a synthetic one (packetizeFrame) but carries the file's
// bytes. A keyframe request (PLI, FIR) makes the next frame the file's next keyframe.
func (p *Publisher) sendVideoFile() {
	defer p.sending.Done()
	baseTS := rand.Uint32()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32())}}
	buf := make([]byte, 0, MaxPayloadSize)
	codec := frameCodec(vp8Codec{}) // a real frame carries its own frame header and size
	var frameNumber, packetSeq uint32
	v := p.cfg.VideoFile
	err := p.playFile(newFilePlayer(v.frames, v.period), videoClockRate, &p.keyframeWanted, func(f *mediaFrame, ticks int64) error {
		if p.videoOff.Load() {
			return nil // the camera is off (SetVideoSending): the frame is skipped
		}
		pkt.Timestamp = baseTS + uint32(ticks)
		err := p.writeVideoFrame(buf, pkt, videoFrame{
			number: frameNumber, keyframe: f.keyframe, size: len(f.data), data: f.data, firstSeq: packetSeq,
		}, codec, &packetSeq)
		frameNumber++
		return err
	})
	if err != nil {
		p.log.Debug("video file write ended", "err", err)
	}
}

// sendAudioFile sends PublisherConfig.AudioFile's Opus packets at the file's pace,
// looping, each with the audio level extension (levelExtID, 0: none).
func (p *Publisher) sendAudioFile(levelExtID uint8) {
	defer p.sending.Done()
	baseTS := rand.Uint32()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32())}}
	level := p.audioLevel()
	var seq uint32
	a := p.cfg.AudioFile
	err := p.playFile(newFilePlayer(a.packets, a.period), opusClockRate, nil, func(f *mediaFrame, ticks int64) error {
		pkt.Timestamp = baseTS + uint32(ticks)
		pkt.Payload = f.data
		pkt.Marker = seq == 0
		levelExtID = p.setAudioLevel(pkt, levelExtID, level)
		if err := p.audio.WriteRTP(pkt); err != nil {
			return err
		}
		seq++
		p.audioPackets.Store(seq)
		pkt.SequenceNumber++
		return nil
	})
	if err != nil {
		p.log.Debug("audio file write ended", "err", err)
	}
}
