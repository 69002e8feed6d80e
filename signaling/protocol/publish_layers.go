package protocol

// PublishLayersChangedEvent is the payload of onPublishLayersChanged, sent to a
// publisher of simulcast video when the set of its layers that some subscriber needs
// changes. An SDK may stop encoding the inactive layers (e.g. RTCRtpEncodingParameters
// active=false) and must start again when a later event marks one active; the server
// asks for it within a second of a subscriber needing it.
type PublishLayersChangedEvent struct {
	UserID string              `json:"userId"`
	Layers []PublishLayerState `json:"layers"` // every layer, smallest first
}

// PublishLayerState is one simulcast layer, named by its rid.
type PublishLayerState struct {
	RID    string `json:"rid"`
	Active bool   `json:"active"`
}
