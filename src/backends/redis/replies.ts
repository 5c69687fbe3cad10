/** Reading Redis replies whatever the protocol (RESP2, RESP3) and ioredis's reply mapping. */

export const ENTRY_ID = /^\d+-\d+$/;

/** `[id, [field, value, ...] | null]` as a stream reply holds it. */
export type RawEntry = [id: string, fields: unknown];

/**
 * The entries of a one-stream `XREADGROUP` reply, whatever the protocol: RESP2 `[[key, entries]]`,
 * ioredis's RESP3 "legacy" mapping `[key, entries]`, or a map (`{ key: entries }`).
 */
export function readReply(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return ((reply[0] as unknown[])[1] as RawEntry[] | undefined) ?? [];
    return (reply[1] as RawEntry[] | undefined) ?? [];
  }
  if (reply instanceof Map) return ([...reply.values()][0] as RawEntry[] | undefined) ?? [];
  if (typeof reply === 'object') return (Object.values(reply)[0] as RawEntry[] | undefined) ?? [];
  throw new TypeError(`unexpected XREADGROUP reply: ${typeof reply}`);
}

/** An entry's fields, or undefined for an entry deleted from the stream while pending. */
export function fieldsOf(raw: unknown): Record<string, string> | undefined {
  if (raw === null || raw === undefined) return undefined;
  const fields: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) fields[String(raw[i])] = String(raw[i + 1]);
  } else if (typeof raw === 'object') {
    for (const [field, value] of raw instanceof Map ? raw : Object.entries(raw)) fields[String(field)] = String(value);
  }
  return fields;
}

/** `XPENDING key group start end count [consumer]` rows: id → times delivered. */
export function deliveryCounts(reply: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  if (!Array.isArray(reply)) return counts;
  for (const row of reply as unknown[]) {
    if (Array.isArray(row)) counts.set(String(row[0]), Number(row[3]));
  }
  return counts;
}

/** A field of an `XINFO GROUPS` row (a flat array in RESP2, a map or object in RESP3). */
export function infoField(row: unknown, name: string): unknown {
  if (Array.isArray(row)) {
    for (let i = 0; i + 1 < row.length; i += 2) if (String(row[i]) === name) return row[i + 1];
    return undefined;
  }
  if (row instanceof Map) return row.get(name);
  if (typeof row === 'object' && row !== null) return (row as Record<string, unknown>)[name];
  return undefined;
}
