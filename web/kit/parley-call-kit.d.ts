// TypeScript declarations of the call kit (web/kit/parley-call-kit.js): the
// <parley-call-kit> and <parley-call-history> elements, their methods, properties and
// events (web/README.md, "Call kit").

/** Call media type (the SDK's MediaType). */
export declare const MediaType: Readonly<{ UNKNOWN: 0; AUDIO: 1; VIDEO: 2 }>;
export type MediaTypeValue = 0 | 1 | 2;

/** The kit's call status, named as TUICallKit's. */
export type CallStatusValue =
  | 'IDLE' | 'BE_INVITED' | 'DIALING_C2C' | 'DIALING_GROUP'
  | 'CALLING_C2C_AUDIO' | 'CALLING_C2C_VIDEO' | 'CALLING_GROUP_AUDIO' | 'CALLING_GROUP_VIDEO';
export declare const CallStatus: Readonly<{ [K in CallStatusValue]: K }> & {
  of(state: { phase: string; group: boolean; mediaType: number }): CallStatusValue;
};

/** The engine methods and events the kit uses (a ParleyCallEngine has them all). */
export interface KitEngine {
  on(event: string, handler: (payload: any) => void): void;
  off(event: string, handler?: (payload: any) => void): void;
  call(params: { userId: string; mediaType: MediaTypeValue; params?: object }): Promise<{ callId: string }>;
  calls(params: { userIdList: string[]; mediaType: MediaTypeValue; params?: object }): Promise<{ callId: string }>;
  groupCall(params: { groupId: string; userIdList: string[]; mediaType: MediaTypeValue; params?: object }): Promise<{ callId: string }>;
  accept(opts?: { mediaType?: MediaTypeValue }): Promise<unknown>;
  reject(): Promise<void>;
  hangup(): Promise<void>;
  join(params: { callId: string }): Promise<{ callId: string }>;
  joinInGroupCall(params: { groupId: string; roomId: number | string; mediaType: MediaTypeValue }): Promise<{ callId: string }>;
  inviteUser(params: { userIdList: string[]; params?: object }): Promise<unknown>;
  switchCallMediaType(mediaType: MediaTypeValue): Promise<unknown>;
  startRemoteView(params: { userId: string; element: HTMLElement | string }): Promise<void>;
  openCamera(params?: { element?: HTMLElement | string; deviceId?: string }): Promise<MediaStreamTrack>;
  closeCamera(): Promise<void>;
  openMicrophone(params?: { deviceId?: string; audioProcessing?: boolean }): Promise<MediaStreamTrack>;
  closeMicrophone(): Promise<void>;
  queryRecentCalls(params?: { begin?: number; end?: number; resultType?: 0 | 1 | 2 | 3 }): Promise<{ records: CallRecord[] }>;
  switchDevice?(params: { deviceType: 'camera' | 'microphone' | 'speaker'; deviceId: string }): Promise<void>;
  switchCamera?(camera: 'front' | 'back' | { facingMode?: 'user' | 'environment'; deviceId?: string }): Promise<void>;
  selectAudioPlaybackDevice?(deviceId: string): Promise<void>;
  muteAllRemoteAudio?(mute: boolean): Promise<void>;
}

/** A record of queryRecentCalls (signaling/PROTOCOL.md §4.2). */
export interface CallRecord {
  callId: string; userId: string; caller: string; invitees: string[]; scene: number;
  mediaType: number; groupId: string; roomId: number | string | object; role: number;
  result: number; beginTime: number; totalTime: number;
}

/** A person the kit names, shows and offers in the invite panel. */
export interface KitContact { userId: string; nickname?: string; avatar?: string }

export interface StatusChangedDetail { oldStatus: CallStatusValue; newStatus: CallStatusValue }
export interface BeforeCallingDetail { type: number; role: 'caller' | 'callee'; userIdList: string[] }
/** reason: 'ended' | 'cancelled' | 'missed' | 'rejected' | 'busy' | 'noResponse' | '' (own hangup or reject, kick, detach) */
export interface AfterCallingDetail { reason: string }
export interface MinimizedDetail { isMinimized: boolean }
export interface KitErrorDetail { code?: number; message: string }

export declare class ParleyCallKit extends HTMLElement {
  init(opts: { engine: KitEngine; userId: string; nickname?: string; avatar?: string; audioProcessing?: boolean }): void;
  detach(): void;
  call(opts: { userId: string; type?: MediaTypeValue; params?: object }): Promise<{ callId: string }>;
  groupCall(opts: { userIdList: string[]; type?: MediaTypeValue; groupId?: string; params?: object }): Promise<{ callId: string }>;
  /** Enters a running group call: by callId, or by groupId and roomId (D283). */
  join(opts: { callId?: string; groupId?: string; roomId?: number | string; type?: MediaTypeValue }): Promise<{ callId: string }>;
  /** TUICallKit's joinInGroupCall: join({groupId, roomId, type}). */
  joinInGroupCall(opts: { groupId: string; roomId: number | string; type?: MediaTypeValue }): Promise<{ callId: string }>;
  accept(opts?: { voice?: boolean }): Promise<void>;
  reject(): Promise<void>;
  hangup(): Promise<void>;
  minimize(): Promise<void>;
  restore(): Promise<void>;
  toggleFullScreen(): Promise<void>;
  /** 'en' or 'zh-cn' (also 'zh', 'en-US', …); a RangeError for another language. */
  setLanguage(lang: string): void;
  setCallingBell(url: string): void;
  enableMuteMode(enable: boolean): void;
  enableFloatWindow(enable: boolean): void;
  enableIncomingBanner(enable: boolean): void;
  enablePictureInPicture(enable: boolean): void;
  readonly status: CallStatusValue;
  readonly isMinimized: boolean;
  readonly floatMode: '' | 'pip' | 'mini';
  readonly bell: '' | 'incoming' | 'outgoing';
  readonly language: 'en' | 'zh-cn';
  allowedMinimized: boolean;
  allowedFullScreen: boolean;
  contacts: KitContact[];
  statusChanged: ((detail: StatusChangedDetail) => void) | null;
  beforeCalling: ((detail: BeforeCallingDetail) => void) | null;
  afterCalling: ((detail: AfterCallingDetail) => void) | null;
  onMinimized: ((detail: MinimizedDetail) => void) | null;
  addEventListener<K extends keyof ParleyCallKitEventMap>(type: K, listener: (this: ParleyCallKit, ev: ParleyCallKitEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

export interface ParleyCallKitEventMap extends HTMLElementEventMap {
  statusChanged: CustomEvent<StatusChangedDetail>;
  beforeCalling: CustomEvent<BeforeCallingDetail>;
  afterCalling: CustomEvent<AfterCallingDetail>;
  minimized: CustomEvent<MinimizedDetail>;
  kitError: CustomEvent<KitErrorDetail>;
}

export declare class ParleyCallHistory extends HTMLElement {
  init(opts: { engine: KitEngine; userId: string }): void;
  setLanguage(lang: string): void;
  refresh(query?: { begin?: number; end?: number; resultType?: number }): Promise<void>;
  readonly records: CallRecord[];
  addEventListener(type: 'callback', listener: (this: ParleyCallHistory, ev: CustomEvent<{ userIdList: string[]; type: number }>) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-call-kit': ParleyCallKit;
    'parley-call-history': ParleyCallHistory;
  }
}
