/**
 * Which flow answers a call: the flow listing the called number (Twilio's `To`), else the default
 * flow, else none (the bridge then refuses the call politely). Built once from validated flows.
 */
import type { Flow } from './schema.js';

/**
 * Canonical form of a called number: phone numbers lose spaces, dashes, dots and brackets
 * ("+1 (555) 010-0200" → "+15550100200"); SIP URIs lose parameters and compare case-insensitively
 * ("sip:Desk@PBX.example.com;transport=udp" → "sip:desk@pbx.example.com").
 */
export function normalizeNumber(raw: string): string {
  const s = raw.trim();
  if (/^sips?:/i.test(s)) return s.split(';')[0]!.toLowerCase();
  return s.replace(/[\s().-]/g, '');
}

export class FlowRouter {
  readonly #byNumber: ReadonlyMap<string, Flow>;
  readonly #byName: ReadonlyMap<string, Flow>;
  readonly defaultFlow: Flow | null;

  /** Flows must be validated (load.ts refuses duplicate numbers and several defaults). */
  constructor(flows: readonly Flow[]) {
    const byNumber = new Map<string, Flow>();
    for (const flow of flows) for (const n of flow.numbers) byNumber.set(normalizeNumber(n), flow);
    this.#byNumber = byNumber;
    this.#byName = new Map(flows.map((f) => [f.name, f]));
    this.defaultFlow = flows.find((f) => f.default) ?? null;
  }

  /** The flow for a called number; the default flow when none lists it; null when there is no default. */
  route(to: string | undefined): Flow | null {
    if (to) {
      const flow = this.#byNumber.get(normalizeNumber(to));
      if (flow) return flow;
    }
    return this.defaultFlow;
  }

  /** A flow by its name (a media stream names the flow its webhook chose). */
  byName(name: string): Flow | null {
    return this.#byName.get(name) ?? null;
  }

  /** The numbers with their own flow. */
  numbers(): string[] {
    return [...this.#byNumber.keys()];
  }
}
