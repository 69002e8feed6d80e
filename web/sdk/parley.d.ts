// Type declarations of the Parley browser SDK (@parley-rtc/sdk): every export of parley.js,
// every engine method and event. Protocol payloads follow signaling/PROTOCOL.md (§4 methods,
// §5 events). Checked by `tsc --noEmit` in web/tsc_test.go.

/** Call media type. */
export declare const MediaType: { readonly UNKNOWN: 0; readonly AUDIO: 1; readonly VIDEO: 2 };
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

/** Role in a call. */
export declare const Role: { readonly NONE: 0; readonly CALLER: 1; readonly CALLED: 2 };
export type Role = (typeof Role)[keyof typeof Role];

/** Call scene. */
export declare const Scene: { readonly GROUP: 0; readonly MULTI: 1; readonly SINGLE: 2 };
export type Scene = (typeof Scene)[keyof typeof Scene];

/** Network quality of onUserNetworkQualityChanged. */
export declare const NetworkQuality: {
  readonly UNKNOWN: 0; readonly EXCELLENT: 1; readonly GOOD: 2; readonly POOR: 3; readonly BAD: 4; readonly VERY_BAD: 5; readonly DOWN: 6;
};
export type NetworkQuality = (typeof NetworkQuality)[keyof typeof NetworkQuality];

/** Video resolutions, numbered as the protocol. */
export declare const Resolution: {
  readonly R640x360: 108; readonly R640x480: 62; readonly R960x540: 110; readonly R960x720: 64; readonly R1280x720: 112; readonly R1920x1080: 114;
};
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/** Orientation of setVideoEncoderParams. */
export declare const ResolutionMode: { readonly LANDSCAPE: 0; readonly PORTRAIT: 1 };
export type ResolutionMode = (typeof ResolutionMode)[keyof typeof ResolutionMode];

/** Call status of callStatus and onCallStatusChanged. */
export declare const CallStatus: { readonly IDLE: 'idle'; readonly WAITING: 'waiting'; readonly CONNECTED: 'connected' };
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

/** Levels of setLogLevel, most verbose first. */
export declare const LogLevel: { readonly DEBUG: 0; readonly INFO: 1; readonly WARN: 2; readonly ERROR: 3; readonly NONE: 4 };
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error' | 'none';

/** Server error codes (signaling/PROTOCOL.md §7). */
export declare const ErrorCode: {
  readonly PARSE_ERROR: -32700; readonly INVALID_REQUEST: -32600; readonly METHOD_NOT_FOUND: -32601; readonly INVALID_PARAMS: -32602;
  readonly INTERNAL_ERROR: -32603; readonly NOT_LOGGED_IN: 1001; readonly USER_SIG_INVALID: 1002; readonly USER_SIG_EXPIRED: 1003;
  readonly UNKNOWN_APP: 1004; readonly INVALID_USER_ID: 1005; readonly ALREADY_LOGGED_IN: 1006; readonly KICKED: 1007;
  readonly TOO_MANY_SESSIONS: 1008; readonly APP_SESSION_QUOTA: 1009; readonly NICKNAME_TOO_LONG: 2001; readonly AVATAR_NOT_URL: 2002; readonly INVALID_TIMEOUT: 3001; readonly NO_CALL_RINGING: 3002;
  readonly NOT_IN_CALL: 3003; readonly NO_SUCH_CALL: 3004; readonly CANNOT_INVITE_SELF: 3005; readonly ALREADY_IN_CALL: 3006;
  readonly MEDIA_SWITCH_NOT_ALLOWED: 3007; readonly INVALID_MEDIA_TYPE: 3008; readonly TOO_MANY_INVITEES: 3009;
  readonly NO_INVITEES: 3010; readonly ROOM_IN_USE: 3011; readonly INVALID_ROOM_ID: 4001; readonly NOT_IN_ROOM: 4002; readonly ALREADY_IN_ROOM: 4003;
  readonly NEGOTIATION_FAILED: 4004; readonly UNKNOWN_USER: 4005; readonly ROOM_FORBIDDEN: 4006;
  readonly ROOM_GRANT_INVALID: 4007; readonly ROOM_GRANT_EXPIRED: 4008; readonly TOO_MANY_REMOTE_VIEWS: 4009;
  readonly TOO_MANY_CANDIDATES: 4010; readonly APP_ROOM_QUOTA: 4011; readonly ROOM_FULL: 4012;
  readonly SERVER_DRAINING: 5001; readonly CLUSTER_UNAVAILABLE: 5002;
  readonly RATE_LIMITED: 6001;
};

/** SDK-side error codes (negative, outside the server's range). */
export declare const SdkErrorCode: {
  readonly NOT_CONNECTED: -1; readonly CONNECTION_LOST: -2; readonly TIMEOUT: -3; readonly MEDIA_DEVICE: -4;
  readonly NEGOTIATION: -5; readonly RESUME_FAILED: -6; readonly INVALID_STATE: -7; readonly NOT_SUPPORTED: -8;
};

/** A camera at least this wide is published as three simulcast layers. */
export declare const SIMULCAST_MIN_WIDTH: 640;

/** An error from the server (its JSON-RPC error object) or from the SDK itself. */
export declare class ParleyError extends Error {
  constructor(code: number, message: string, data?: unknown);
  readonly name: 'ParleyError';
  /** server code (ErrorCode) or SdkErrorCode */
  code: number;
  /** the error's data member (e.g. {field: "userId"}) */
  data: unknown;
}

/** A person-segmentation model: a mask whose alpha is opaque on the person. */
export interface Segmenter {
  segment(frame: HTMLVideoElement): Promise<CanvasImageSource>;
}

/** The parts of MediaPipe's SelfieSegmentation (npm @mediapipe/selfie_segmentation) the adapter uses. */
export interface SelfieSegmentationLike {
  send(inputs: { image: HTMLVideoElement }): Promise<void>;
  onResults(listener: (results: { segmentationMask: CanvasImageSource }) => void): void;
}

/** Adapts a MediaPipe SelfieSegmentation instance to a Segmenter. */
export declare function fromSelfieSegmentation(seg: SelfieSegmentationLike): Segmenter;

/** A room: an integer room (1..2147483647), a string room, or both spellings of TRTC. */
export type RoomId = number | string | { intRoomId?: number; strRoomId?: string };

/** The protocol's CallParams (member params of the call methods). */
export interface CallParams {
  roomId?: RoomId;
  /** seconds: 0 → 30, else 10..600 */
  timeout?: number;
  userData?: string;
  offlinePushInfo?: Record<string, unknown>;
  chatGroupId?: string;
}

/** The TUICallEngine Web SDK's flat call params, accepted next to the user list (params.params wins). */
export interface FlatCallParams {
  /** an integer room */
  roomID?: number;
  /** a string room (wins over roomID) */
  strRoomID?: string;
  timeout?: number;
  userData?: string;
  offlinePushInfo?: Record<string, unknown>;
}

export interface CallStartResult { callId: string; roomId: RoomId }
export interface LoginResult { userId: string; resumeToken: string; iceServers: RTCIceServer[]; expiresAt: number }

/** An element or its id: a <video> is used as is, another element gets a <video> child. */
export type ViewElement = HTMLElement | string;

export interface EngineOptions {
  /** the server's WebSocket endpoint, ws(s)://host/ws */
  url: string;
  simulcast?: boolean;
  reconnect?: boolean;
  reconnectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** 'relay' sends all media through the login result's TURN servers */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** connect the call's PeerConnections while it rings (default true) */
  earlyMedia?: boolean;
  /** where Chromium's send bandwidth estimate starts (default 1000; 0: the browser's own) */
  startBitrateKbps?: number;
  /**
   * open the camera of a video call while it rings (invitee: at onCallReceived; caller: once
   * the call is placed), as a preview that is sent only once the call began for this user;
   * closed when the call ends before (default false)
   */
  ringingPreview?: boolean;
}

export interface CurrentCall { callId: string; roomId: RoomId; mediaType: number; role: number }

export interface CallRecord {
  callId: string; userId: string; caller: string; invitees: string[]; scene: number; mediaType: number;
  groupId: string; roomId: RoomId; role: number; result: number; beginTime: number; totalTime: number;
}

export type DeviceType = 'camera' | 'microphone' | 'speaker';
export interface DeviceInfo { deviceId: string; groupId: string; label: string; type: DeviceType }
export interface DeviceList { cameras: DeviceInfo[]; microphones: DeviceInfo[]; speakers: DeviceInfo[] }

export interface RenderParams {
  /** 'fill' covers the view (cropping), 'fit' shows the whole frame */
  fillMode?: 'fill' | 'fit';
  /** clockwise */
  rotation?: 0 | 90 | 180 | 270;
}

/** startRemoteView's playback callbacks. */
export interface ViewCallbacks {
  onPlaying?: (ev: { userId: string }) => void;
  onLoading?: (ev: { userId: string }) => void;
  onError?: (ev: { userId: string; code: number; message: string }) => void;
}

export interface VideoEncoderParams {
  resolution?: Resolution;
  resolutionMode?: ResolutionMode;
  /** 1..60 frames per second; 0 lifts the limit */
  videoFps?: number;
  /** 30..20000 kbit/s for the full layer; 0 lifts the limit */
  videoBitrate?: number;
}

export interface PublishedStats { publisher: RTCStatsReport; subscriber: RTCStatsReport }

/** Every event with its payload (PROTOCOL.md §5, plus the SDK's own). */
export interface EngineEvents {
  onSdkReady: { userId: string };
  /** device: the camera or microphone the browser ended by itself (code -4, D284) */
  onError: { code: number; message: string; device?: 'camera' | 'microphone' };
  onKickedOffline: Record<string, never>;
  onUserSigExpired: { graceSeconds: number };
  onUserJoin: { userId: string; roomId: RoomId };
  onUserLeave: { userId: string; roomId: RoomId };
  onUserVideoAvailable: { userId: string; isVideoAvailable: boolean };
  onUserAudioAvailable: { userId: string; isAudioAvailable: boolean };
  onUserVoiceVolumeChanged: { volumeMap: Record<string, number> };
  onUserNetworkQualityChanged: { networkQualityList: { userId: string; quality: NetworkQuality }[] };
  onServerDraining: Record<string, never>;
  onPublishLayersChanged: { userId: string; layers: { rid: string; active: boolean }[] };
  onCallReceived: {
    callId: string; callerId: string; calleeIdList: string[]; groupId: string; mediaType: MediaType; userData: string;
    roomId: RoomId; scene: Scene; role: Role; callerNickname: string; callerAvatar: string; timeout: number;
    offlinePushInfo?: Record<string, unknown>;
  };
  onCallCancelled: {
    callId: string; userId: string; roomId: RoomId; mediaType: MediaType; role: Role;
    reason: 'cancel' | 'reject' | 'timeout' | 'busy' | 'ignore' | 'answeredElsewhere' | 'rejectedElsewhere' | 'disconnect';
  };
  onCallBegin: { callId: string; roomId: RoomId; mediaType: MediaType; role: Role };
  /** reason 'disconnect' only when the SDK ends the call itself: its session is gone (web/README.md) */
  onCallEnd: { callId: string; roomId: RoomId; mediaType: MediaType; role: Role; totalTime: number; userId?: string; reason?: string };
  onCallMediaTypeChanged: { callId: string; oldMediaType: MediaType; newMediaType: MediaType };
  onUserAccept: { callId: string; userId: string };
  onUserReject: { callId: string; userId: string };
  onUserNoResponse: { callId: string; userId: string };
  onUserLineBusy: { callId: string; userId: string };
  onGroupCallInviteeListUpdate: { callId: string; userIdList: string[] };
  /** the SDK's socket */
  onConnectionStateChanged: { state: 'connected' | 'reconnecting' | 'disconnected'; code?: number; reason?: string };
  /** callStatus changed; callId is the call's (the ended one's for 'idle') */
  onCallStatusChanged: { status: CallStatus; previous: CallStatus; callId: string };
  /** a camera, microphone or speaker was plugged in or out (devicechange) */
  onDeviceListUpdated: DeviceList;
}
export type EngineEventName = keyof EngineEvents;

/** The call engine. Create it with ParleyCallEngine.createInstance. */
export declare class ParleyCallEngine {
  /** Creates an engine (nothing connects until login); throws ParleyError on bad options. */
  static createInstance(options: EngineOptions): ParleyCallEngine;
  constructor(options: EngineOptions);

  on<E extends EngineEventName>(event: E, handler: (payload: EngineEvents[E]) => void): void;
  off<E extends EngineEventName>(event: E, handler?: (payload: EngineEvents[E]) => void): void;

  // session
  login(params: { sdkAppId: number; userId: string; userSig: string }): Promise<LoginResult>;
  logout(): Promise<void>;
  setSelfInfo(params: { nickname?: string; nickName?: string; avatar?: string }): Promise<object>;
  enableMultiDeviceAbility(enable: boolean | { enable: boolean }): Promise<object>;

  // calls
  call(params: { userId: string; mediaType: MediaType; params?: CallParams } & FlatCallParams): Promise<CallStartResult>;
  calls(params: {
    userIdList?: string[]; userIDList?: string[]; mediaType?: MediaType; type?: MediaType;
    chatGroupId?: string; chatGroupID?: string; params?: CallParams;
  } & FlatCallParams): Promise<CallStartResult>;
  groupCall(params: { groupId: string; userIdList: string[]; mediaType: MediaType; params?: CallParams }): Promise<CallStartResult>;
  /**
   * accept, reject, ignore and hangup made while the engine reconnects, or whose answer the
   * socket lost, settle after the reconnect: carried out once, or RESUME_FAILED when the
   * session and its call are gone (README, “Call requests across a dropped socket”).
   */
  accept(opts?: { mediaType?: MediaType }): Promise<object>;
  reject(): Promise<void>;
  ignore(): Promise<void>;
  hangup(): Promise<void>;
  inviteUser(params: { userIdList: string[]; params?: CallParams }): Promise<{ userIdList: string[] }>;
  joinInGroupCall(params: { roomId: RoomId; groupId: string; mediaType: MediaType }): Promise<CallStartResult>;
  join(params: { callId: string }): Promise<CallStartResult>;
  switchCallMediaType(mediaType: MediaType | { mediaType: MediaType }): Promise<object>;
  queryRecentCalls(params?: { begin?: number; end?: number; resultType?: 0 | 1 | 2 | 3 }): Promise<{ records: CallRecord[] }>;
  deleteRecordCalls(params: { callIdList: string[] }): Promise<{ deleted: string[] }>;

  // rooms and media
  joinRoom(params: { roomId: RoomId; roomGrant?: string; privateMapKey?: string }): Promise<void>;
  leaveRoom(): Promise<void>;
  startRemoteView(params: { userId: string; element: ViewElement; resolution?: Resolution; callback?: ViewCallbacks }): Promise<void>;
  stopRemoteView(params: { userId: string }): Promise<void>;
  setRemoteViewQuality(params: { userId: string; resolution?: Resolution; width?: number; height?: number }): Promise<object>;
  /**
   * The device methods tell the server the device's state; made while the engine
   * reconnects they resolve, and the resumed session gets the page's state of then
   * (README, “Device state across a dropped socket”).
   */
  openCamera(params?: { element?: ViewElement; deviceId?: string; width?: number; height?: number; exact?: boolean }): Promise<MediaStreamTrack>;
  closeCamera(): Promise<void>;
  openMicrophone(params?: { deviceId?: string; audioProcessing?: boolean }): Promise<MediaStreamTrack>;
  closeMicrophone(): Promise<void>;
  setVideoEncoderParams(params: VideoEncoderParams): Promise<void>;

  // devices and views
  getDeviceList(deviceType?: DeviceType): Promise<DeviceInfo[]>;
  switchCamera(camera: 'front' | 'back' | { facingMode?: 'user' | 'environment'; deviceId?: string }): Promise<void>;
  switchDevice(params: { deviceType: DeviceType; deviceId: string }): Promise<void>;
  selectAudioPlaybackDevice(deviceId: string): Promise<void>;
  /** Mutes (true) or unmutes the playback of every remote user's audio, now and for later ones. */
  muteAllRemoteAudio(mute: boolean): Promise<void>;
  setVideoRenderParams(params: { userId?: string } & RenderParams): Promise<void>;
  setLogLevel(level: LogLevel | LogLevelName): void;
  /**
   * Blurs the camera's background (level 1..10, 0 off) with the person mask of a segmenter the
   * app supplies; rejects with SdkErrorCode.NOT_SUPPORTED when none was given (web/README.md).
   */
  setBlurBackground(level: number | { level: number }, opts?: { segmenter?: Segmenter }): Promise<void>;
  /** Replaces the camera's background with an image URL ('' off); the segmenter as for setBlurBackground. */
  setVirtualBackground(image: string | { image: string }, opts?: { segmenter?: Segmenter }): Promise<void>;
  /** Always rejects with SdkErrorCode.NOT_SUPPORTED: no face model is shipped (web/README.md). */
  setBeautyLevel(level: number | { level: number }): Promise<never>;

  // state
  getStats(): Promise<PublishedStats | null>;
  readonly isSimulcastPublishing: boolean;
  readonly currentCall: CurrentCall | null;
  readonly callStatus: CallStatus;
  getCallStatus(): CallStatus;
  /** Closes the connection, the media and the local devices. The engine is unusable after. */
  destroyInstance(): void;
}
