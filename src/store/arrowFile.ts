/**
 * Reads Arrow IPC *file* bytes into a Table, one record batch at a time by the footer's block
 * index. apache-arrow's own tableFromIPC iterates messages in a loop that never ends when a
 * damaged block points at a message that is not a record batch; reading each block once by
 * index cannot loop, and a block that is not a record batch is an error here.
 */
import { RecordBatchReader, Table, type RecordBatch } from 'apache-arrow';

export function readArrowFile(bytes: Uint8Array): Table {
  const reader = RecordBatchReader.from(bytes);
  if (!reader.isSync() || !reader.isFile())
    throw new Error('not an Arrow IPC file (no ARROW1 magic at the start)');
  reader.open();
  const batches: RecordBatch[] = [];
  const count = reader.numRecordBatches;
  if (!(count >= 0 && count <= bytes.length)) throw new Error(`the footer lists ${count} record batches`);
  for (let i = 0; i < count; i++) {
    const batch = reader.readRecordBatch(i);
    if (!batch) throw new Error(`record batch ${i} of ${count} is not readable`);
    batches.push(batch);
  }
  if (!reader.schema) throw new Error('the footer holds no schema');
  return new Table(reader.schema, batches);
}
