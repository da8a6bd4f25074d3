/**
 * The time zone of each flow, read straight from the flow files (`name` and `hours.timeZone`),
 * for tools that run without the server's catalogue (the `calls` CLI). Tolerant: a file that
 * cannot be read or parsed, or names an unknown zone, is skipped; the caller falls back to
 * TIME_ZONE / UTC for its calls. The server itself uses the validated catalogue (time-zones.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { timeZoneResolver, type TimeZoneOf, type ZonedFlow } from './time-zones.js';

/** Flow name → time zone, for the flows of `dir` that declare business hours. */
export function readFlowZones(dir: string): ZonedFlow[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n));
  } catch {
    return [];
  }
  const flows: ZonedFlow[] = [];
  for (const n of names) {
    try {
      const doc = parse(readFileSync(join(dir, n), 'utf8')) as { name?: unknown; hours?: { timeZone?: unknown } } | null;
      const zone = doc?.hours?.timeZone;
      if (typeof doc?.name !== 'string') continue;
      if (typeof zone === 'string' && isTimeZone(zone)) flows.push({ name: doc.name, hours: { timeZone: zone } });
      else flows.push({ name: doc.name });
    } catch {
      // not a flow we can read: its calls use the default zone
    }
  }
  return flows;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone of a call's flow from `flowsDir`, else `fallback` (TIME_ZONE), else UTC. */
export function flowDirZones(flowsDir: string, fallback: string | undefined): TimeZoneOf {
  const flows = readFlowZones(flowsDir);
  return timeZoneResolver(() => flows, fallback);
}
