/** move_appointment: moves a booked appointment of the example dental practice to another free slot. */
import { z } from 'zod';
import { defineTool } from '../src/tools/index.js';
import { claimSlot, dentalDb, describeSlot, findAppointment, practiceNow } from './lib/dental-db.js';

export default defineTool({
  name: 'move_appointment',
  description:
    'Move an existing appointment to another free time (check_availability first). Identify the appointment by its reference, ' +
    "or by the patient's name when the caller does not have the reference.",
  schema: z
    .object({
      reference: z.string().trim().min(4).max(12).optional().describe('The appointment reference, e.g. K7P2QX.'),
      patientName: z.string().trim().min(2).max(100).optional().describe("The patient's full name, if there is no reference."),
      newDate: z.iso.date().describe('The new day, YYYY-MM-DD.'),
      newTime: z.string().regex(/^\d{2}:\d{2}$/, 'write the time as HH:MM, e.g. 14:00').describe('The new start time, HH:MM.'),
    })
    .refine((a) => a.reference || a.patientName, 'give the reference or the patient name'),
  timeoutMs: 3000,
  handler(args, ctx) {
    const db = dentalDb(ctx.now());
    const now = practiceNow(ctx.now());
    const appt = findAppointment(db, args, now);
    db.transaction(() => {
      claimSlot(db, args.newDate, args.newTime, appt.ref, now);
      db.prepare('UPDATE slots SET appointment_ref = NULL WHERE start = ? AND appointment_ref = ?').run(appt.start, appt.ref);
      db.prepare('UPDATE appointments SET start = ?, updated_at = ? WHERE ref = ?').run(`${args.newDate} ${args.newTime}`, new Date().toISOString(), appt.ref);
    })();
    return { status: 'moved', reference: appt.ref, from: describeSlot(appt.start), to: describeSlot(`${args.newDate} ${args.newTime}`) };
  },
});
