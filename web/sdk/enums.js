// Parley SDK — the enums of the public API (numbered as signaling/PROTOCOL.md) and the
// video sizes of the Resolution values. parley.js re-exports the enums.

/** Call status of callStatus and onCallStatusChanged. @readonly @enum {string} */
export const CallStatus = Object.freeze({ IDLE: 'idle', WAITING: 'waiting', CONNECTED: 'connected' });

/** Call media type. @readonly @enum {number} */
export const MediaType = Object.freeze({ UNKNOWN: 0, AUDIO: 1, VIDEO: 2 });

/** Role in a call. @readonly @enum {number} */
export const Role = Object.freeze({ NONE: 0, CALLER: 1, CALLED: 2 });

/** Call scene. @readonly @enum {number} */
export const Scene = Object.freeze({ GROUP: 0, MULTI: 1, SINGLE: 2 });

/** Network quality of onUserNetworkQualityChanged. @readonly @enum {number} */
export const NetworkQuality = Object.freeze({
  UNKNOWN: 0, EXCELLENT: 1, GOOD: 2, POOR: 3, BAD: 4, VERY_BAD: 5, DOWN: 6,
});

/** Video resolutions, numbered as the protocol. @readonly @enum {number} */
export const Resolution = Object.freeze({
  R640x360: 108, R640x480: 62, R960x540: 110, R960x720: 64, R1280x720: 112, R1920x1080: 114,
});

/** Orientation of setVideoEncoderParams. @readonly @enum {number} */
export const ResolutionMode = Object.freeze({ LANDSCAPE: 0, PORTRAIT: 1 });

/** Server error codes (signaling/PROTOCOL.md §7). @readonly @enum {number} */
export const ErrorCode = Object.freeze({
  PARSE_ERROR: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603, NOT_LOGGED_IN: 1001, USER_SIG_INVALID: 1002, USER_SIG_EXPIRED: 1003,
  UNKNOWN_APP: 1004, INVALID_USER_ID: 1005, ALREADY_LOGGED_IN: 1006, KICKED: 1007,
  TOO_MANY_SESSIONS: 1008, APP_SESSION_QUOTA: 1009, NICKNAME_TOO_LONG: 2001, AVATAR_NOT_URL: 2002, INVALID_TIMEOUT: 3001, NO_CALL_RINGING: 3002,
  NOT_IN_CALL: 3003, NO_SUCH_CALL: 3004, CANNOT_INVITE_SELF: 3005, ALREADY_IN_CALL: 3006,
  MEDIA_SWITCH_NOT_ALLOWED: 3007, INVALID_MEDIA_TYPE: 3008, TOO_MANY_INVITEES: 3009,
  NO_INVITEES: 3010, ROOM_IN_USE: 3011, INVALID_ROOM_ID: 4001, NOT_IN_ROOM: 4002, ALREADY_IN_ROOM: 4003,
  NEGOTIATION_FAILED: 4004, UNKNOWN_USER: 4005, ROOM_FORBIDDEN: 4006, ROOM_GRANT_INVALID: 4007,
  ROOM_GRANT_EXPIRED: 4008, TOO_MANY_REMOTE_VIEWS: 4009, TOO_MANY_CANDIDATES: 4010,
  APP_ROOM_QUOTA: 4011, ROOM_FULL: 4012,
  SERVER_DRAINING: 5001, CLUSTER_UNAVAILABLE: 5002, RATE_LIMITED: 6001,
});

/** Width and height of each Resolution. */
export const RESOLUTION_SIZES = {
  108: [640, 360], 62: [640, 480], 110: [960, 540], 64: [960, 720], 112: [1280, 720], 114: [1920, 1080],
};
