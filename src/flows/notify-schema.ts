/**
 * A flow's `notify:` list (docs/after-call.md, "Notifications"): where callbridge POSTs signed
 * events about the flow's calls.
 *
 *   notify:
 *     - webhook: https://crm.example.com/hooks/calls
 *       events: [call.completed, call.needs_follow_up]
 *
 * A webhook is https://, or http:// to this machine (127.0.0.1, localhost, [::1]) for development;
 * production refuses http:// at boot (src/notify/config.ts) and private destinations at delivery.
 */
import { z } from 'zod';

export const NOTIFY_EVENT_NAMES = ['call.completed', 'call.needs_follow_up'] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `value` cannot be a webhook URL, or undefined. */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a web address such as https://crm.example.com/hooks/calls';
  }
  if (url.username || url.password) return 'must not carry a user name or password: the receiver checks the signature instead';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  if (url.protocol === 'http:') return 'must be https:// (call details are personal data); http:// is allowed only to this machine (127.0.0.1) for development';
  return 'must be an https:// address';
}

const Webhook = z.string().superRefine((v, ctx) => {
  const problem = webhookUrlProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const Events = z
  .array(z.enum(NOTIFY_EVENT_NAMES, { error: `must be one of ${NOTIFY_EVENT_NAMES.join(', ')}` }))
  .min(1, `list at least one event: ${NOTIFY_EVENT_NAMES.join(', ')}`)
  .refine((events) => new Set(events).size === events.length, 'lists an event twice');

export const NotifyEntry = z.object({ webhook: Webhook, events: Events }).strict();

export const NotifyList = z
  .array(NotifyEntry, { error: 'must be a list of { webhook: <https URL>, events: [call.completed, call.needs_follow_up] }' })
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((entry, i) => {
      if (seen.has(entry.webhook)) ctx.addIssue({ code: 'custom', message: 'this webhook is listed twice: list its events once', path: [i, 'webhook'] });
      seen.add(entry.webhook);
    });
  })
  .default([]);

export type NotifyConfig = z.output<typeof NotifyEntry>;
/** Field names of a notify entry, for "did you mean" suggestions. */
export const NOTIFY_FIELDS: readonly string[] = Object.keys(NotifyEntry.shape);
