// Times in the business's time zone: every call carries `timeZone` (its flow's hours.timeZone,
// else the server's TIME_ZONE, else UTC), and the UI shows its times there, not in the
// browser's zone, so the owner and the CLI see the same clock. Without a zone, the browser's.

const formatters = new Map();

/** A cached Intl.DateTimeFormat for this zone and these options (an unknown zone falls back to the browser's). */
function fmt(timeZone, options) {
  const key = `${timeZone ?? ''}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(undefined, timeZone ? { ...options, timeZone } : options);
    } catch {
      f = new Intl.DateTimeFormat(undefined, options);
    }
    formatters.set(key, f);
  }
  return f;
}

/** YYYY-MM-DD of `ms` in the zone. */
export function localDate(ms, timeZone) {
  const parts = fmt(timeZone, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The zone's short name at `ms` ("EST", "GMT+1"). */
export function zoneName(ms, timeZone) {
  return fmt(timeZone, { timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

/** "Today, 18:04", "Yesterday, 09:12", "Tue 10 Jun, 18:04", "10 Jun 2024, 18:04": days counted in the zone. */
export function formatWhen(ms, timeZone, now = new Date()) {
  const d = new Date(ms);
  const days = Math.round((Date.parse(localDate(now.getTime(), timeZone)) - Date.parse(localDate(ms, timeZone))) / 86400000);
  const time = fmt(timeZone, { hour: '2-digit', minute: '2-digit' }).format(d);
  if (days === 0) return `Today, ${time}`;
  if (days === 1) return `Yesterday, ${time}`;
  if (localDate(ms, timeZone).slice(0, 4) === localDate(now.getTime(), timeZone).slice(0, 4)) {
    return `${fmt(timeZone, { weekday: 'short', day: 'numeric', month: 'short' }).format(d)}, ${time}`;
  }
  return `${fmt(timeZone, { day: 'numeric', month: 'short', year: 'numeric' }).format(d)}, ${time}`;
}

/** "Sunday 8 March 2026 at 01:59:00 EST" in the zone (its name always shown). */
export function formatFull(ms, timeZone) {
  return `${fmt(timeZone, { dateStyle: 'full', timeStyle: 'medium' }).format(new Date(ms))} ${zoneName(ms, timeZone)}`.trim();
}

/** "18:04" in the zone. */
export function formatTime(ms, timeZone) {
  return fmt(timeZone, { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}
