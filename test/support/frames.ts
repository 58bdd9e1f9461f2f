/** One frame of Docker's multiplexed stream (logs, exec output): stream 1 is stdout, 2 stderr. */
export function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
