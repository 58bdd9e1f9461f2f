// Raw bytes to a loopback server, as an attacker in the sandbox writes them (no client library to
// tidy them up).
import { connect } from 'node:net';

/** Sends `text` to 127.0.0.1:port and returns everything answered until it closes (or 300 ms of silence, 2 s at first). */
export const rawExchange = (port: number, text: string) => new Promise<string>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  let out = '';
  let timer = setTimeout(() => socket.destroy(), 2000);
  socket.on('data', (c) => { out += c; clearTimeout(timer); timer = setTimeout(() => socket.destroy(), 300); });
  socket.on('close', () => { clearTimeout(timer); resolve(out); });
  socket.on('error', () => {});
  socket.write(text);
});
