/** Business functions: definitions, the registry, HTTP functions, built-ins and the per-call dispatcher. */
export type { CallControl, FlowFacts, Tool, ToolBehavior, ToolContext, ToolKind, ToolMode, ToolScheduling } from './types.js';
export { DEFAULT_TOOL_MODE, TOOL_BEHAVIORS, TOOL_SCHEDULINGS } from './types.js';
export { parseBehavior, parseScheduling, toolMode, wireBehavior, wireScheduling, withModes } from './modes.js';
export { defineTool, declarationFor, isCodeTool, isToolError, ToolError, zodToGeminiSchema, FUNCTION_NAME_RE } from './define.js';
export type { CodeTool, ToolDefinition } from './define.js';
export { BUILTIN_NAMES, builtinTools, isBuiltinName } from './builtins.js';
export type { BuiltinName } from './builtins.js';
export { createHttpTool, paramsToZod, signRequest, verifySignature, SIGNATURE_HEADER } from './http-function.js';
export type { HttpFunctionSpec, HttpParam, HttpToolOptions } from './http-function.js';
export { ToolRegistry, loadToolModules, loadToolRegistry } from './registry.js';
export type { ToolModuleProblem } from './registry.js';
export { ToolDispatcher, capOutput } from './dispatch.js';
export type { DispatchResult, DispatchSession, DispatcherOptions, FunctionCallEvent } from './dispatch.js';
