/**
 * The scenario of each flow, for the built-in emulator (`npm start` without a Gemini key): the
 * flow's own `scenario:` file when it names one, else `<scenariosDir>/<flow>.yaml`, read for every
 * session (a file is parsed again only when its size or modification time changed), so an edited
 * or added scenario is used by the next call without a restart.
 *
 * A flow without a scenario, or whose scenario file has errors, gets the no-scenario emulator
 * ({@link noScenario}): it says plainly what it is and how to add a scenario, and never invents
 * caller words (it sends no inputTranscription). The format is in docs/scenarios.md.
 */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../shared/log.js';
import { loadScenarioFile, scenarioFromObject, ScenarioError, type Scenario } from './scenario.js';

export interface FlowScenarioOptions {
  /** Where `<flow>.yaml` is looked for (SCENARIOS_DIR). */
  scenariosDir: string;
  /** The absolute path a flow's `scenario:` field names, if it names one (read per session: hot reload). */
  scenarioPathOf?: (flow: string) => string | undefined;
  log?: Logger;
}

/** Flow names are lowercase letters, digits and dashes; anything else never reaches the file system. */
const FLOW_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

interface Cached {
  key: string;
  scenario: Scenario;
}

/** Resolves the scenario of a flow, per session. */
export class FlowScenarios {
  readonly #o: FlowScenarioOptions;
  readonly #cache = new Map<string, Cached>();

  constructor(options: FlowScenarioOptions) {
    this.#o = options;
  }

  /** The file a flow's scenario is read from (it may not exist). */
  pathOf(flow: string): string {
    return this.#o.scenarioPathOf?.(flow) ?? join(this.#o.scenariosDir, `${flow}.yaml`);
  }

  /** The flow's scenario, or the no-scenario emulator for it; never rejects. */
  async resolve(flow: string): Promise<Scenario> {
    if (!FLOW_NAME_RE.test(flow)) return noScenario('this line', 'missing');
    const path = this.pathOf(flow);
    let key: string;
    try {
      const s = await stat(path);
      key = `${s.size}:${s.mtimeMs}`;
    } catch {
      return noScenario(flow, 'missing');
    }
    const cached = this.#cache.get(path);
    if (cached?.key === key) return cached.scenario;
    try {
      const scenario = await loadScenarioFile(path);
      this.#cache.set(path, { key, scenario });
      return scenario;
    } catch (err) {
      const problems = err instanceof ScenarioError ? err.problems : [(err as Error).message];
      this.#o.log?.warn({ flow, file: path, problems }, `the scenario of flow ${flow} has errors; the emulator runs without it:\n${problems.join('\n')}`);
      const scenario = noScenario(flow, 'invalid');
      this.#cache.set(path, { key, scenario });
      return scenario;
    }
  }
}

/**
 * The no-scenario emulator of a flow, as a scenario: the greeting callbridge asks for is said word
 * for word followed by a notice; each caller utterance is answered with a line saying it could
 * not be understood (and no inputTranscription); a key press is answered with the key.
 */
export function noScenario(flow: string, why: 'missing' | 'invalid'): Scenario {
  const problem =
    why === 'missing'
      ? `there is no scenario for the flow ${flow}`
      : `the scenario file of the flow ${flow} has errors, listed in the server log`;
  return scenarioFromObject(
    {
      name: `no-scenario:${flow}`,
      description: `The offline emulator without a scenario (${why}).`,
      afterGreeting:
        `This is the offline emulator, and ${problem}, so I cannot understand what you say; I can only answer keypad presses. ` +
        `To add a scenario, run: npm run scenario:new -- ${flow}.`,
      turns: [{ match: 'pressed ([0-9*#]+)', repeatable: true, say: 'You pressed {{match.1}}.' }],
      endOfScenario: {
        mode: 'repeat',
        say: `I heard you, but this is the offline emulator and ${problem}, so I cannot understand speech.`,
      },
    },
    `no-scenario:${flow}`,
  );
}

/** The absolute path of a flow's `scenario:` field (relative to the flow file), if it has one. */
export function flowScenarioFile(flow: { file: string; scenario?: string | undefined } | null | undefined): string | undefined {
  return flow?.scenario ? resolve(dirname(flow.file), flow.scenario) : undefined;
}

/** The emulator's Live URL for a session of `flow` (the `flow` query parameter this server reads). */
export function emulatorUrlForFlow(url: string, flow: string): string {
  const u = new URL(url);
  u.searchParams.set('flow', flow);
  return u.href;
}
