/** Business flows: the flow file format, loading and checking, routing, business hours and the per-call engine. */
export { FlowFileSchema, WEEKDAYS, DTMF_KEYS, E164_RE, SIP_RE, isValidTimeZone, parseDayHours } from './schema.js';
export type { Flow, FlowFile, Stage, ConfigAction, TransitionConfig, HoursConfig, WhenConfig, Weekday } from './schema.js';
export type { FlowAction } from './actions.js';
export { isTerminal } from './actions.js';
export { FlowSession, matchesWhen } from './engine.js';
export type { FlowStep, StageChange } from './engine.js';
export { FlowRouter, normalizeNumber } from './routing.js';
export { isOpen, outsideHoursActions, nextOpening, wallClock, clockStartingAt, nextOpenInstant } from './hours.js';
export type { WallClock } from './hours.js';
export { loadFlowSources, loadFlowDir, checkBusinessConfig, loadBusinessConfig, flowVersion } from './load.js';
export type { FlowSource, LoadOptions, LoadedFlows, LoadResult, BusinessConfigOptions } from './load.js';
export { formatProblem } from './yaml-source.js';
export type { FlowProblem } from './yaml-source.js';
export { FlowCatalog } from './catalog.js';
export type { CatalogOptions, ReloadResult } from './catalog.js';
