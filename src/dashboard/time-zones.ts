/**
 * Which time zone a call's times are shown in: its flow's `hours.timeZone` (src/flows/schema.ts),
 * else the server's TIME_ZONE, else UTC. Flows are read at each lookup (hot reload changes them);
 * a flow that no longer exists gets the default.
 */

export interface ZonedFlow {
  name: string;
  hours?: { timeZone: string } | undefined;
}

export type TimeZoneOf = (flow: string | null) => string;

export function timeZoneResolver(flows: () => readonly ZonedFlow[], fallback: string | undefined): TimeZoneOf {
  const byDefault = fallback ?? 'UTC';
  return (flow) => {
    if (flow === null) return byDefault;
    for (const f of flows()) if (f.name === flow) return f.hours?.timeZone ?? byDefault;
    return byDefault;
  };
}
