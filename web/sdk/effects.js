// Parley SDK — background effects: a camera track in, a track out whose background is
// blurred or replaced by an image, using a person mask from a segmenter the app supplies
// (fromSelfieSegmentation adapts MediaPipe's @mediapipe/selfie_segmentation). One
// BackgroundEffect per open camera; it draws each mask-and-frame on a canvas on the page's
// main thread and sends the canvas's captureStream track.

/**
 * What the SDK needs of a segmentation model: a mask of the person in frame, whose alpha
 * is opaque on the person and transparent on the background.
 * @typedef {{segment: (frame: HTMLVideoElement) => Promise<CanvasImageSource>}} Segmenter
 * @typedef {{blurPx?: number, image?: CanvasImageSource|null}} EffectMode
 */

/**
 * Adapts a MediaPipe SelfieSegmentation instance (its send / onResults) to a Segmenter.
 * The mask is copied out inside onResults, where MediaPipe's buffer is valid.
 * @param {{send: (inputs: {image: HTMLVideoElement}) => Promise<void>, onResults: (l: (r: {segmentationMask: CanvasImageSource}) => void) => void}} seg
 * @returns {Segmenter}
 */
export function fromSelfieSegmentation(seg) {
  const mask = document.createElement('canvas');
  const ctx = /** @type {CanvasRenderingContext2D} */ (mask.getContext('2d'));
  seg.onResults((r) => {
    const m = /** @type {HTMLCanvasElement} */ (r.segmentationMask);
    if (mask.width !== m.width || mask.height !== m.height) {
      mask.width = m.width;
      mask.height = m.height;
    }
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(m, 0, 0);
  });
  return {
    async segment(frame) {
      await seg.send({ image: frame });
      return mask;
    },
  };
}

/** A camera track with its background blurred or replaced. */
export class BackgroundEffect {
  /**
   * Starts nothing; start does.
   * @param {Segmenter} segmenter
   * @param {(err: Error) => void} onError a segmentation failure (the effect stops drawing)
   */
  constructor(segmenter, onError) {
    this._segmenter = segmenter;
    this._onError = onError;
    this._video = document.createElement('video');
    this._video.muted = true;
    this._video.playsInline = true;
    this._canvas = document.createElement('canvas');
    this._ctx = /** @type {CanvasRenderingContext2D} */ (this._canvas.getContext('2d'));
    /** @type {EffectMode} */
    this._mode = {};
    /** @type {MediaStreamTrack|null} */
    this._source = null;
    /** @type {MediaStreamTrack|null} */
    this._output = null;
    this._stopped = false;
  }

  /** @returns {MediaStreamTrack|null} the camera track being processed */
  get source() {
    return this._source;
  }

  /** @returns {MediaStreamTrack|null} the processed track (null before start) */
  get output() {
    return this._output;
  }

  /**
   * Processes source with mode and returns the output track (a canvas capture at the
   * source's size and frame rate).
   * @param {MediaStreamTrack} source
   * @param {EffectMode} mode
   * @returns {Promise<MediaStreamTrack>}
   */
  async start(source, mode) {
    this._mode = mode;
    await this.setSource(source);
    const fps = source.getSettings().frameRate || 30;
    this._output = this._canvas.captureStream(fps).getVideoTracks()[0];
    this._loop();
    return this._output;
  }

  /**
   * Processes another camera track from now on (the output track stays).
   * @param {MediaStreamTrack} source
   */
  async setSource(source) {
    this._source = source;
    const s = source.getSettings();
    this._canvas.width = s.width || 640;
    this._canvas.height = s.height || 360;
    this._video.srcObject = new MediaStream([source]);
    await this._video.play();
  }

  /** @param {EffectMode} mode */
  setMode(mode) {
    this._mode = mode;
  }

  /** Stops drawing and the output track (not the source: the camera is the engine's). Idempotent. */
  stop() {
    if (this._stopped) return;
    this._stopped = true;
    if (this._output) this._output.stop();
    this._video.srcObject = null;
  }

  /** Draws frames one after another, each after its mask. */
  async _loop() {
    while (!this._stopped) {
      try {
        if (this._video.readyState >= 2) {
          const mask = await this._segmenter.segment(this._video);
          if (this._stopped) return;
          this._draw(mask);
        }
      } catch (err) {
        this._onError(/** @type {Error} */ (err));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /**
   * The person (frame where the mask is opaque) over the blurred frame or the image.
   * @param {CanvasImageSource} mask
   */
  _draw(mask) {
    const v = this._video;
    if (v.videoWidth && (v.videoWidth !== this._canvas.width || v.videoHeight !== this._canvas.height)) {
      // The camera's size changed (setVideoEncoderParams, another camera): follow it.
      this._canvas.width = v.videoWidth;
      this._canvas.height = v.videoHeight;
    }
    const { width: w, height: h } = this._canvas;
    const ctx = this._ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'copy';
    ctx.filter = 'none';
    ctx.drawImage(mask, 0, 0, w, h);
    ctx.globalCompositeOperation = 'source-in';
    ctx.drawImage(this._video, 0, 0, w, h);
    ctx.globalCompositeOperation = 'destination-over';
    if (this._mode.image) {
      ctx.drawImage(this._mode.image, 0, 0, w, h);
    } else {
      ctx.filter = `blur(${this._mode.blurPx || 0}px)`;
      ctx.drawImage(this._video, 0, 0, w, h);
    }
    ctx.restore();
  }
}
