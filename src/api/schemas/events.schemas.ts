// The server-sent events of GET /v1/jobs/{id}/events and GET /v1/sweeps/{id}/events: one zod
// schema per event — its `event:` name, its `id:` (when it has one) and its `data:` JSON. They type
// what the routes write (sseFrame takes only a frame of its stream's union) and document the streams:
// each route's 200 is `text/event-stream` whose schema is the union of its frames, every frame a
// component (JobEpochEvent, …), so a client generated from the document knows each event's data.
import { z } from 'zod';
import { JOB_STATUSES, JobProgressSchema } from '../../queue/index.ts';
import { component, EpochMetricsSchema } from './common.schemas.ts';
import { JobRecordSchema } from './jobs.schemas.ts';
import { SweepViewSchema } from './sweeps.schemas.ts';

const END_EVENTS = ['completed', 'failed', 'cancelled'] as const;

const EpochEventId = z.string().regex(/^\d+\.\d+$/).describe('`<member>.<epoch>`: what Last-Event-ID resumes from');
const EndEventId = z.literal('end').describe('the end of the stream');

// jobs

export const JobEpochEvent = component(z.object({
  event: z.literal('epoch'),
  id: EpochEventId,
  data: EpochMetricsSchema,
}).describe('an epoch finished (the epochs so far are replayed first)'), 'JobEpochEvent');

export const JobProgressEvent = component(z.object({
  event: z.literal('progress'),
  data: JobProgressSchema,
}).describe('while an epoch runs, every PROGRESS_INTERVAL_MS (0.5 s): mini-batches done (`batch` of `batches`); no id'), 'JobProgressEvent');

export const JobStatusEvent = component(z.object({
  event: z.literal('status'),
  data: z.object({ status: z.enum(JOB_STATUSES) }),
}).describe('the job changed status without ending (e.g. back to queued after its worker shut down); no id'), 'JobStatusEvent');

export const JobEndEvent = component(z.object({
  event: z.enum(END_EVENTS),
  id: EndEventId,
  data: JobRecordSchema,
}).describe('the job ended: the last event of the stream, its data the final job record'), 'JobEndEvent');

/** Written when the stream breaks on the server's side (the client may reconnect with Last-Event-ID). */
export const StreamErrorEvent = component(z.object({
  event: z.literal('error'),
  data: z.object({ message: z.string() }),
}).describe('the stream broke on the server\'s side; reconnect (with Last-Event-ID) to go on'), 'StreamErrorEvent');

export const JobStreamEvent = z.union([JobEpochEvent, JobProgressEvent, JobStatusEvent, JobEndEvent, StreamErrorEvent])
  .describe('one server-sent event of a job\'s stream: `event: <event>`, `id: <id>` when present, `data: <data as one JSON line>`');
export type JobStreamEvent = z.output<typeof JobStreamEvent>;

// sweeps

export const SweepStateEvent = component(z.object({
  event: z.literal('sweep'),
  data: SweepViewSchema,
}).describe('the sweep as GET /v1/sweeps/{id} returns it: at once, and whenever a trial starts or ends or a wave is queued; no id'), 'SweepStateEvent');

export const SweepEpochEvent = component(z.object({
  event: z.literal('epoch'),
  data: z.object({ jobId: z.string().describe('the trial\'s job'), metrics: EpochMetricsSchema }),
}).describe('an epoch any trial finished; no id'), 'SweepEpochEvent');

export const SweepEndEvent = component(z.object({
  event: z.enum(END_EVENTS),
  id: EndEventId,
  data: SweepViewSchema,
}).describe('the sweep ended and every trial with it: the last event of the stream, its data the final sweep'), 'SweepEndEvent');

export const SweepStreamEvent = z.union([SweepStateEvent, SweepEpochEvent, SweepEndEvent, StreamErrorEvent])
  .describe('one server-sent event of a sweep\'s stream: `event: <event>`, `id: <id>` when present, `data: <data as one JSON line>`');
export type SweepStreamEvent = z.output<typeof SweepStreamEvent>;

/** One SSE frame: its event type, its id when it has one, its data as one JSON line. */
export function sseFrame(e: JobStreamEvent | SweepStreamEvent): string {
  return `event: ${e.event}\n${'id' in e ? `id: ${e.id}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`;
}

/** A route's 200 for the document: the stream, each frame one of `frames`. */
export function eventStreamResponse(frames: z.ZodType, description: string) {
  return { description, content: { 'text/event-stream': { schema: frames } } };
}
