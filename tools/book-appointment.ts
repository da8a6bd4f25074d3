/** book_appointment: books a free slot at the example dental practice. */
import { z } from 'zod';
import { defineTool } from '../src/tools/index.js';
import { claimSlot, dentalDb, describeSlot, newReference, practiceNow } from './lib/dental-db.js';

export default defineTool({
  name: 'book_appointment',
  description:
    'Book an appointment in a free slot (check_availability first). Confirm the day, time and the patient name with the caller before calling. ' +
    'Returns a reference to read out to the caller, letter by letter.',
  schema: z.object({
    patientName: z.string().trim().min(2).max(100).describe("The patient's full name."),
    date: z.iso.date().describe('YYYY-MM-DD'),
    time: z.string().regex(/^\d{2}:\d{2}$/, 'write the time as HH:MM, e.g. 09:30').describe('Start time, HH:MM (24-hour clock).'),
    phone: z.string().max(30).optional().describe('A phone number to reach the patient, if they give one.'),
    reason: z.string().max(200).optional().describe('Why they are coming, e.g. "check-up" or "toothache".'),
  }),
  timeoutMs: 3000,
  handler(args, ctx) {
    const db = dentalDb(ctx.now());
    const now = practiceNow(ctx.now());
    const ref = newReference(db);
    db.transaction(() => {
      claimSlot(db, args.date, args.time, ref, now);
      const at = new Date().toISOString();
      db.prepare(
        "INSERT INTO appointments (ref, patient_name, phone, reason, start, status, call_sid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'booked', ?, ?, ?)",
      ).run(ref, args.patientName, args.phone ?? null, args.reason ?? null, `${args.date} ${args.time}`, ctx.callSid, at, at);
    })();
    return { status: 'booked', reference: ref, patientName: args.patientName, ...describeSlot(`${args.date} ${args.time}`) };
  },
});
