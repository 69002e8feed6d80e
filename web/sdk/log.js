// Parley SDK — the SDK's console logging, filtered by setLogLevel.
//
// One level for the whole page (all engines share the console). Messages are prefixed
// with "parley:" and go to the console method of their level.

/** Log levels of setLogLevel, most verbose first. @readonly @enum {number} */
export const LogLevel = Object.freeze({ DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, NONE: 4 });

const NAMES = { debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR, none: LogLevel.NONE };

let current = LogLevel.WARN;

/**
 * Parses a level: a LogLevel number or its lowercase name ('debug', 'info', 'warn',
 * 'error', 'none'); undefined for anything else.
 * @param {number|string} level
 * @returns {number|undefined}
 */
export function parseLogLevel(level) {
  if (typeof level === 'string') return NAMES[level.toLowerCase()];
  if (Number.isInteger(level) && level >= LogLevel.DEBUG && level <= LogLevel.NONE) return level;
  return undefined;
}

/** @param {number} level a parsed LogLevel */
export function setLevel(level) {
  current = level;
}

/** @returns {number} the current LogLevel */
export function level() {
  return current;
}

/* eslint-disable no-console */
export const log = {
  /** @param {...unknown} args */
  debug: (...args) => { if (current <= LogLevel.DEBUG) console.debug('parley:', ...args); },
  /** @param {...unknown} args */
  info: (...args) => { if (current <= LogLevel.INFO) console.info('parley:', ...args); },
  /** @param {...unknown} args */
  warn: (...args) => { if (current <= LogLevel.WARN) console.warn('parley:', ...args); },
  /** @param {...unknown} args */
  error: (...args) => { if (current <= LogLevel.ERROR) console.error('parley:', ...args); },
};
