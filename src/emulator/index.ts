/**
 * Gemini Live emulator: a local WebSocket server that speaks the Live API's wire protocol,
 * including its failures, for offline development, demos and tests. Dev/test tooling only
 * (speech comes from espeak-ng, a GPL devDependency).
 */
export { startEmulator, DEFAULT_SCENARIO_PATH, type Emulator, type EmulatorStats } from './server.js';
export { resolveOptions, EmulatorOptionsError, type EmulatorOptions, type EmulatorTiming, type ScenarioSource } from './options.js';
export { FAULT_PROFILES, type FaultOptions, type FaultKind, type GarbageKind, type RateSpec, type ToolResponseCloseKind } from './faults.js';
export { DEFAULT_MODELS, FAMILIES, type FamilyId, type FamilyRules, type ModelSpec } from './models.js';
export {
  loadScenarioFile,
  parseScenario,
  scenarioFromObject,
  renderTemplate,
  templateContext,
  ScenarioError,
  type Scenario,
  type ScenarioInput,
  type Reply,
  type Say,
  type Turn,
} from './scenario.js';
export { FlowScenarios, noScenario, flowScenarioFile, emulatorUrlForFlow, type FlowScenarioOptions } from './flow-scenarios.js';
export { StreamGenerateEmulator, emulatorRestBaseForFlow, type CascadeTiming, type StreamFault } from './stream-generate.js';
export { TtsEmulator, mulawWav } from './tts-endpoint.js';
export { SpeechSynth, renderTone, espeakVoiceFor, OUTPUT_RATE_HZ, type SpeechSynthOptions } from './tts.js';
export { EnergyVad, vadConfigFromSetup, type VadConfig, type VadEvent } from './vad.js';
export { parseClientFrame, checkSetup, checkRealtimeInput, parseAudioMime } from './validate.js';
export { REASONS, truncateReason } from './close-reasons.js';
export type { SessionRecord, ReceivedMessage, EmulatorEvent, EmulatorEventType, CloseInfo } from './recorder.js';
