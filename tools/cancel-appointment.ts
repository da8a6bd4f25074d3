/** cancel_appointment: cancels a booked appointment of the example dental practice and frees its slot. */
import { z } from 'zod';
import { defineTool } from '../src/tools/index.js';
import { dentalDb, describeSlot, findAppointment, practiceNow } from './lib/dental-db.js';

export default defineTool({
  name: 'cancel_appointment',
  description:
    'Cancel an existing appointment. Confirm with the caller which appointment first. Identify it by its reference, ' +
    "or by the patient's name when the caller does not have the reference.",
  schema: z
    .object({
      reference: z.string().trim().min(4).max(12).optional().describe('The appointment reference, e.g. K7P2QX.'),
      patientName: z.string().trim().min(2).max(100).optional().describe("The patient's full name, if there is no reference."),
    })
    .refine((a) => a.reference || a.patientName, 'give the reference or the patient name'),
  timeoutMs: 3000,
  handler(args, ctx) {
    const db = dentalDb(ctx.now());
    const appt = findAppointment(db, args, practiceNow(ctx.now()));
    db.transaction(() => {
      db.prepare('UPDATE slots SET appointment_ref = NULL WHERE start = ? AND appointment_ref = ?').run(appt.start, appt.ref);
      db.prepare("UPDATE appointments SET status = 'cancelled', updated_at = ? WHERE ref = ?").run(new Date().toISOString(), appt.ref);
    })();
    return { status: 'cancelled', reference: appt.ref, ...describeSlot(appt.start) };
  },
});
