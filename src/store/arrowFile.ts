/**
 * Reads Arrow IPC *file* bytes into a Table, one record batch at a time by the footer's block
 * index. apache-arrow's own tableFromIPC iterates messages in a loop that never ends when a
 * damaged block points at a message that is not a record batch; reading each block once by
 * index cannot loop, and a block that is not a record batch is an error here.
 *
 * Before the reader sees a block, its message header is checked against the bytes it sits in
 * (checkRecordBatchMessage): apache-arrow trusts the counts in a record batch's header and
 * decodes as many field nodes and buffers as they claim, reading past the message, so one
 * flipped bit in a count costs seconds to minutes of decoding garbage.
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
    const block = reader.footer!.getRecordBatch(i);
    if (!block) throw new Error(`record batch ${i} of ${count} is not in the footer`);
    checkRecordBatchMessage(bytes, block, i);
    const batch = reader.readRecordBatch(i);
    if (!batch) throw new Error(`record batch ${i} of ${count} is not readable`);
    batches.push(batch);
  }
  if (!reader.schema) throw new Error('the footer holds no schema');
  return new Table(reader.schema, batches);
}

/** Where a footer block says a message lies: its header (metadata) and body, in bytes. */
export interface MessageBlock {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
}

/**
 * Checks that the record batch message of footer block `i` lies within the file and that
 * every count and offset its header holds stays inside it (Arrow columnar format, "IPC
 * File Format" and Message.fbs / Schema.fbs; FlatBuffers binary layout). Throws naming the
 * first value that does not fit.
 */
export function checkRecordBatchMessage(bytes: Uint8Array, block: MessageBlock, i: number): void {
  const what = `record batch ${i}`;
  const { offset, metaDataLength, bodyLength } = block;
  if (
    ![offset, metaDataLength, bodyLength].every(Number.isSafeInteger) ||
    offset < 8 ||
    metaDataLength < 8 ||
    bodyLength < 0 ||
    offset + metaDataLength + bodyLength > bytes.length
  )
    throw new Error(
      `${what}: the footer places it at bytes ${offset}+${metaDataLength}+${bodyLength}, outside the file's ${bytes.length} bytes`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, metaDataLength);
  // an encapsulated message: 0xFFFFFFFF, the flatbuffer's length, the flatbuffer (padded)
  const prefix = view.getInt32(0, true) === -1 ? 8 : 4;
  const fbLength = view.getInt32(prefix - 4, true);
  if (fbLength < 4 || prefix + fbLength > metaDataLength)
    throw new Error(`${what}: its header claims ${fbLength} bytes in a block of ${metaDataLength}`);
  const fb = new FlatTables(new DataView(view.buffer, view.byteOffset + prefix, fbLength), what);
  const message = fb.table(fb.u32(0), 'the message');
  if (fb.field(message, 1, 1) !== 3) throw new Error(`${what}: the message is not a record batch`);
  const header = message.fields > 2 ? fb.offsetField(message, 2, 'its header') : null;
  if (header === null) throw new Error(`${what}: the message has no header`);
  const batch = fb.table(header, 'its header');
  // FieldNode and Buffer are structs of two int64s: 16 bytes each
  const nodes = fb.vector(batch, 1, 16, 'field nodes');
  const buffers = fb.vector(batch, 2, 16, 'buffers');
  for (let b = 0; b < buffers.count; b++) {
    const at = buffers.start + 16 * b;
    const start = Number(fb.view.getBigInt64(at, true));
    const length = Number(fb.view.getBigInt64(at + 8, true));
    if (!(start >= 0 && length >= 0 && start + length <= bodyLength))
      throw new Error(`${what}: buffer ${b} claims bytes ${start}+${length} of a ${bodyLength}-byte body`);
  }
  for (let n = 0; n < nodes.count; n++) {
    const length = Number(fb.view.getBigInt64(nodes.start + 16 * n, true));
    // a value takes at least one bit of the body, unless the column is null or a list of nothing
    if (!(length >= 0 && length <= 8 * bodyLength + 8))
      throw new Error(`${what}: field node ${n} claims ${length} values in a ${bodyLength}-byte body`);
  }
}

/** Bounds-checked reads of FlatBuffers tables (flatbuffers.dev, "Binary format"). */
class FlatTables {
  constructor(
    readonly view: DataView,
    private readonly what: string,
  ) {}

  u32(at: number): number {
    this.inside(at, 4, 'an offset');
    return this.view.getUint32(at, true);
  }

  /** A table at `at`: where its vtable says each field is. */
  table(at: number, name: string): { at: number; vtable: number; fields: number } {
    this.inside(at, 4, name);
    const vtable = at - this.view.getInt32(at, true);
    this.inside(vtable, 4, `${name}'s vtable`);
    const vtableBytes = this.view.getUint16(vtable, true);
    this.inside(vtable, vtableBytes, `${name}'s vtable`);
    return { at, vtable, fields: (vtableBytes - 4) >> 1 };
  }

  /** Where field `id` of a table is, or null when absent. */
  private fieldAt(t: { at: number; vtable: number; fields: number }, id: number): number | null {
    if (id >= t.fields) return null;
    const rel = this.view.getUint16(t.vtable + 4 + 2 * id, true);
    return rel === 0 ? null : t.at + rel;
  }

  /** An unsigned scalar field of `size` bytes (1 or 2 or 4), 0 when absent. */
  field(t: { at: number; vtable: number; fields: number }, id: number, size: 1 | 2 | 4): number {
    const at = this.fieldAt(t, id);
    if (at === null) return 0;
    this.inside(at, size, `field ${id}`);
    return size === 1
      ? this.view.getUint8(at)
      : size === 2
        ? this.view.getUint16(at, true)
        : this.view.getUint32(at, true);
  }

  /** The position an offset field points to, or null when absent. */
  offsetField(t: { at: number; vtable: number; fields: number }, id: number, name: string): number | null {
    const at = this.fieldAt(t, id);
    return at === null ? null : at + this.u32(at);
  }

  /** A vector of `stride`-byte structs: its count, and where its first element is. */
  vector(
    t: { at: number; vtable: number; fields: number },
    id: number,
    stride: number,
    name: string,
  ): { count: number; start: number } {
    const at = this.offsetField(t, id, name);
    if (at === null) return { count: 0, start: 0 };
    this.inside(at, 4, name);
    const count = this.view.getUint32(at, true);
    if (4 + count * stride > this.view.byteLength - at)
      throw new Error(
        `${this.what}: its header claims ${count} ${name} (${count * stride} bytes) in a ${this.view.byteLength}-byte header`,
      );
    return { count, start: at + 4 };
  }

  private inside(at: number, bytes: number, name: string): void {
    if (!(at >= 0 && at + bytes <= this.view.byteLength))
      throw new Error(`${this.what}: ${name} points outside its ${this.view.byteLength}-byte header`);
  }
}
