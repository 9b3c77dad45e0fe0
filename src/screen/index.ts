export { normalize, type View } from './normalize.js';
export { RULES, type Rule } from './rules/index.js';
export { combine, WINDOW_CHARS } from './score.js';
export { Screener, type ScreenOptions, screenText } from './screener.js';
export {
  accumulated,
  commitTurn,
  decayed,
  fingerprints,
  reappearing,
  type ScreenSessionState,
  screenState,
} from './session.js';
export { type SpotlightMode, spotlight } from './spotlight.js';
export { createScreenStage, type ScreenStageDeps } from './stage.js';
export type { Category, Finding, NormalizationFlags, ScreenAction, ScreenResult, ViewName } from './types.js';
